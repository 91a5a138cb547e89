import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { printablePreview } from '../../src/delivery/body-preview.js';
import { createHttpSender } from '../../src/delivery/http.js';

/**
 * What the attempt log may tell a tenant about a host it cannot reach. An internal name refused by the
 * SSRF guard must read exactly like a name that does not exist, or delivery logs become a probe of the
 * internal DNS.
 */
describe('the attempt log of an unreachable host name', () => {
  const http = createHttpSender({ allow: [], httpsOnly: false });
  after(() => http.close());

  it('says the same for an internal name the guard refuses as for a name that does not exist', async () => {
    const internal = await http.post('http://localhost:9/hook', {}, '{}', 2_000);
    const missing = await http.post('http://nowhere.invalid/hook', {}, '{}', 2_000);
    assert.equal(internal.statusCode, null);
    assert.equal(internal.errorClass, missing.errorClass);
    assert.equal(
      internal.errorMessage?.replace('localhost', '<host>'),
      missing.errorMessage?.replace('nowhere.invalid', '<host>'),
    );
    assert.doesNotMatch(internal.errorMessage ?? '', /loopback|private|refused|127\.0\.0\.1/i);
  });

  it('an IP literal the guard refuses is named as refused (the tenant wrote the address itself)', async () => {
    const literal = await http.post('http://127.0.0.1:9/hook', {}, '{}', 2_000);
    assert.equal(literal.errorClass, 'ssrf_blocked');
  });
});

describe('the printable preview of a response body', () => {
  it('keeps text as it is, escapes NUL, control bytes and invalid UTF-8', () => {
    assert.equal(printablePreview(Buffer.from('ok: €5\n')), 'ok: €5\n');
    assert.equal(printablePreview(Buffer.from([0x47, 0x49, 0x46, 0x00, 0x01, 0xff])), 'GIF\\x00\\x01\\xff');
    // Half of a multi-byte character at the cut, a lone surrogate encoded in UTF-8, an overlong slash.
    assert.equal(printablePreview(Buffer.from([0x61, 0xe2, 0x82])), 'a\\xe2\\x82');
    assert.equal(printablePreview(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80');
    assert.equal(printablePreview(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf');
  });

  it('never yields a NUL or a lone surrogate (PostgreSQL text takes it), whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const preview = printablePreview(bytes);
        return !preview.includes('\u0000') && Buffer.from(preview, 'utf8').toString('utf8') === preview;
      }),
    );
  });
});
