import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateWebhookSecret } from '../../src/delivery/secrets.js';
import { signPayload } from '../../src/delivery/signing.js';

/**
 * The receiver's side is the official `standardwebhooks` library: `new Webhook('whsec_...')` takes the secret
 * as shown to the endpoint owner, and `verify(body, headers)` checks the signature and that the timestamp is
 * within 5 minutes of the receiver's clock. No clock is faked: "old" messages are signed with a timestamp in
 * the past and verified now.
 */

const body = JSON.stringify({ type: 'conversion.created', data: { id: 'cv_1', amount: '12.50' } });
const msgId = 'msg_2Zq8Lr0XyB1cD3fK9aQm';

function receiver(secret: string): Webhook {
  return new Webhook(secret);
}

function verifies(secret: string, payload: string, headers: Record<string, string>): boolean {
  try {
    receiver(secret).verify(payload, headers);
    return true;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return false;
    throw err;
  }
}

describe('Standard Webhooks signatures, as a receiver checks them', () => {
  it('are accepted by the official library for the body that was signed', () => {
    const secret = generateWebhookSecret();
    const headers = signPayload({ msgId, timestamp: new Date(), body, secrets: [secret] });
    assert.deepEqual(receiver(secret).verify(body, headers), JSON.parse(body));
  });

  it('carry the message id and the timestamp in unix seconds', () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    const headers = signPayload({ msgId, timestamp: at, body, secrets: [generateWebhookSecret()] });
    assert.equal(headers['webhook-id'], msgId);
    assert.equal(headers['webhook-timestamp'], String(Math.floor(at.getTime() / 1000)));
  });

  it('are the same for a Date and for the unix seconds of that Date', () => {
    const secret = generateWebhookSecret();
    const seconds = Math.floor(Date.now() / 1000);
    assert.deepEqual(
      signPayload({ msgId, timestamp: new Date(seconds * 1000 + 999), body, secrets: [secret] }),
      signPayload({ msgId, timestamp: seconds, body, secrets: [secret] }),
    );
  });

  it("match the library's own signing byte for byte", () => {
    const secret = generateWebhookSecret();
    const at = new Date();
    const headers = signPayload({ msgId, timestamp: at, body, secrets: [secret] });
    assert.equal(headers['webhook-signature'], receiver(secret).sign(msgId, at, body));
  });

  it('sign the exact text, including non-ASCII characters', () => {
    const secret = generateWebhookSecret();
    const text = JSON.stringify({ player: 'Zoë', note: '€ ✓ 🎰' });
    const headers = signPayload({ msgId, timestamp: new Date(), body: text, secrets: [secret] });
    assert.ok(verifies(secret, text, headers));
    assert.ok(verifies(secret, Buffer.from(text, 'utf8').toString(), headers));
  });
});

describe('secret rotation', () => {
  const current = generateWebhookSecret();
  const previous = generateWebhookSecret();

  it('puts one v1 entry per secret in the signature header, current first', () => {
    const at = new Date();
    const headers = signPayload({ msgId, timestamp: at, body, secrets: [current, previous] });
    const entries = headers['webhook-signature'].split(' ');
    assert.equal(entries.length, 2);
    for (const entry of entries) assert.match(entry, /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(entries, [
      receiver(current).sign(msgId, at, body),
      receiver(previous).sign(msgId, at, body),
    ]);

    const one = signPayload({ msgId, timestamp: at, body, secrets: [current] });
    assert.equal(one['webhook-signature'].split(' ').length, 1);
  });

  it('lets a receiver holding either the new or the old secret verify', () => {
    const headers = signPayload({ msgId, timestamp: new Date(), body, secrets: [current, previous] });
    assert.ok(verifies(current, body, headers), 'receiver already on the new secret');
    assert.ok(verifies(previous, body, headers), 'receiver still on the old secret');
    assert.ok(!verifies(generateWebhookSecret(), body, headers), 'receiver with an unrelated secret');
  });
});

describe('what a receiver refuses', () => {
  const secret = generateWebhookSecret();

  it('a changed body', () => {
    const headers = signPayload({ msgId, timestamp: new Date(), body, secrets: [secret] });
    assert.ok(!verifies(secret, body.replace('12.50', '125.0'), headers));
    assert.ok(!verifies(secret, `${body} `, headers));
  });

  it('a changed timestamp or message id', () => {
    const headers = signPayload({ msgId, timestamp: new Date(), body, secrets: [secret] });
    const later = String(Number(headers['webhook-timestamp']) + 1);
    assert.ok(!verifies(secret, body, { ...headers, 'webhook-timestamp': later }));
    assert.ok(!verifies(secret, body, { ...headers, 'webhook-id': `${msgId}x` }));
  });

  it('a timestamp 10 minutes old (outside the 5-minute tolerance), though correctly signed', () => {
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const headers = signPayload({ msgId, timestamp: tenMinutesAgo, body, secrets: [secret] });
    assert.throws(() => receiver(secret).verify(body, headers), {
      name: 'WebhookVerificationError',
      message: /too old/,
    });
    // Inside the tolerance the same kind of message is fine.
    const twoMinutesAgo = new Date(Date.now() - 2 * 60 * 1000);
    assert.ok(
      verifies(secret, body, signPayload({ msgId, timestamp: twoMinutesAgo, body, secrets: [secret] })),
    );
  });

  it('a timestamp 10 minutes in the future', () => {
    const tenMinutesAhead = Math.floor(Date.now() / 1000) + 10 * 60;
    const headers = signPayload({ msgId, timestamp: tenMinutesAhead, body, secrets: [secret] });
    assert.throws(() => receiver(secret).verify(body, headers), { message: /too new/ });
  });
});

describe('what signPayload refuses', () => {
  const secret = generateWebhookSecret();
  const ok = { msgId, timestamp: new Date(), body, secrets: [secret] };

  it('an empty secret list', () => {
    assert.throws(() => signPayload({ ...ok, secrets: [] }), /at least one signing secret/);
  });

  it("a message id containing '.', empty, or not visible ASCII", () => {
    assert.throws(() => signPayload({ ...ok, msgId: 'msg.1' }), /'\.'/);
    assert.throws(() => signPayload({ ...ok, msgId: '' }), /non-empty/);
    assert.throws(() => signPayload({ ...ok, msgId: 'msg 1' }), /visible ASCII/);
    assert.throws(() => signPayload({ ...ok, msgId: 'msg\r\nX-Injected: 1' }), /visible ASCII/);
  });

  it('a malformed secret, naming its index but not its value', () => {
    const bare = secret.slice('whsec_'.length);
    const short = `whsec_${randomBytes(16).toString('base64')}`;
    for (const [bad, pattern] of [
      [bare, /secrets\[1\].*whsec_/],
      [short, /secrets\[1\].*16 bytes/],
      ['whsec_not base64!', /secrets\[1\].*base64/],
      ['whsec_', /secrets\[1\]/],
    ] as const) {
      assert.throws(
        () => signPayload({ ...ok, secrets: [secret, bad] }),
        (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, pattern);
          assert.ok(!err.message.includes(bare) && !err.message.includes(bad.slice(6) || '\0'));
          return true;
        },
      );
    }
  });

  it('an invalid timestamp, or one that looks like milliseconds', () => {
    assert.throws(() => signPayload({ ...ok, timestamp: new Date('nope') }), /invalid Date/);
    assert.throws(() => signPayload({ ...ok, timestamp: Date.now() }), /milliseconds/);
    assert.throws(() => signPayload({ ...ok, timestamp: 1.5 }), /whole/);
    assert.throws(() => signPayload({ ...ok, timestamp: -1 }), /non-negative/);
  });
});
