import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openHeaders, sealHeaders } from '../../src/delivery/sealed-headers.js';
import { createSecretCipher, generateEncryptionKey } from '../../src/delivery/secrets.js';

describe('custom endpoint headers at rest', () => {
  const cipher = createSecretCipher([generateEncryptionKey()]);
  const headers = { 'X-Api-Key': 'sk_live_123', Authorization: 'Basic dXNlcjpwdw==' };

  it('are stored sealed, with no header name or value readable, and open to the same map', () => {
    const stored = sealHeaders(cipher, 'ep_a', headers);
    assert.equal(typeof stored, 'string');
    for (const plain of ['X-Api-Key', 'sk_live_123', 'Authorization', 'dXNlcjpwdw'])
      assert.ok(!JSON.stringify(stored).includes(plain));
    assert.deepEqual(openHeaders(cipher, 'ep_a', stored), headers);
  });

  it('sealed for one endpoint do not open for another, nor as that endpoint’s signing secret', () => {
    const stored = sealHeaders(cipher, 'ep_a', headers) as string;
    assert.throws(() => openHeaders(cipher, 'ep_b', stored), /failed authentication/);
    assert.throws(() => cipher.decrypt(stored, 'ep_a'), /failed authentication/);
  });

  it('a plaintext map from before sealing reads as it is; no headers are stored as {}', () => {
    assert.deepEqual(openHeaders(cipher, 'ep_a', headers), headers);
    assert.deepEqual(sealHeaders(cipher, 'ep_a', {}), {});
    assert.deepEqual(openHeaders(cipher, 'ep_a', {}), {});
  });
});
