import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRequest, MASKED } from '../../src/delivery/sent-request.js';

describe('a request as the attempt log keeps it', () => {
  it('shows only headers that carry no secret, and of the signature only its scheme', () => {
    const r = describeRequest(
      'POST',
      'https://hooks.example/in',
      {
        'user-agent': 'affiliate-hooks/1',
        'Content-Type': 'application/json',
        'webhook-id': 'dlv_1',
        'webhook-timestamp': '1700000000',
        'webhook-signature': 'v1,AAAA v1,BBBB',
        Authorization: 'Bearer sk_live_1',
        'x-api-key': 'k',
      },
      '{"a":1}',
    );
    assert.deepEqual(r.headers, {
      'user-agent': 'affiliate-hooks/1',
      'Content-Type': 'application/json',
      'webhook-id': 'dlv_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `v1,${MASKED} v1,${MASKED}`,
      Authorization: MASKED,
      'x-api-key': MASKED,
    });
    assert.equal(r.body, '{"a":1}');
    assert.equal(r.bodyBytes, 7);
  });

  it("masks a URL's password, keeps the rest of it as sent, and cuts the body at 4 KiB", () => {
    const r = describeRequest('GET', 'https://user:pw@tracker.example/p?x=1&y={2}', {}, null);
    assert.equal(r.url, 'https://user:masked@tracker.example/p?x=1&y={2}');
    assert.equal(r.body, null);
    assert.equal(r.bodyBytes, 0);
    const plain = 'https://tracker.example/p?x=1&y={2}';
    assert.equal(describeRequest('GET', plain, {}, null).url, plain);
    const long = describeRequest('POST', plain, {}, 'é'.repeat(5000));
    assert.equal(long.body!.length, 4096);
    assert.equal(long.bodyBytes, 10000);
  });
});
