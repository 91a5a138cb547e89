import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  SecretCipherError,
  createSecretCipher,
  encryptionKeyId,
  generateEncryptionKey,
  generateWebhookSecret,
} from '../../src/delivery/secrets.js';

const oldKey = generateEncryptionKey();
const newKey = generateEncryptionKey();
const endpointId = 'ep_3fK9aQ2mZt7Lr0XyB1cD';

/** The parts of a sealed value: version, key id, iv, tag, ciphertext. */
function parts(sealed: string): string[] {
  return sealed.split('.');
}

/** Replaces one character at `at` with a different base64url/hex-compatible character. */
function flipChar(text: string, at: number): string {
  const c = text[at];
  const swap = c === 'A' ? 'B' : c === '0' ? '1' : /[0-9]/.test(c ?? '') ? '0' : 'A';
  return text.slice(0, at) + swap + text.slice(at + 1);
}

describe('generated signing secrets', () => {
  it('are whsec_ followed by base64 of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32);
    assert.notEqual(generateWebhookSecret(), secret);
  });
});

describe('generated encryption keys', () => {
  it('are base64 of 32 bytes and accepted by the cipher', () => {
    const key = generateEncryptionKey();
    assert.equal(Buffer.from(key, 'base64').length, 32);
    assert.doesNotThrow(() => createSecretCipher([key]));
  });
});

describe('sealing endpoint secrets at rest', () => {
  it('opens what it sealed', () => {
    const cipher = createSecretCipher([newKey]);
    const secret = generateWebhookSecret();
    assert.equal(cipher.decrypt(cipher.encrypt(secret)), secret);
    assert.equal(cipher.decrypt(cipher.encrypt(secret, endpointId), endpointId), secret);
    assert.equal(cipher.decrypt(cipher.encrypt('ünïcödé ✓'), undefined), 'ünïcödé ✓');
  });

  it('produces a versioned string naming the key that sealed it', () => {
    const sealed = createSecretCipher([newKey]).encrypt(generateWebhookSecret(), endpointId);
    const [version, keyId, iv, tag, ciphertext] = parts(sealed);
    assert.equal(version, 'v1');
    assert.equal(keyId, encryptionKeyId(newKey));
    assert.match(keyId ?? '', /^[0-9a-f]{8}$/);
    assert.equal(Buffer.from(iv ?? '', 'base64url').length, 12);
    assert.equal(Buffer.from(tag ?? '', 'base64url').length, 16);
    assert.ok((ciphertext ?? '').length > 0);
  });

  it('never seals the same secret to the same string twice (fresh IV)', () => {
    const cipher = createSecretCipher([newKey]);
    const secret = generateWebhookSecret();
    const a = cipher.encrypt(secret, endpointId);
    const b = cipher.encrypt(secret, endpointId);
    assert.notEqual(a, b);
    assert.notEqual(parts(a)[2], parts(b)[2]);
  });

  it('refuses a sealed value with any part tampered with', () => {
    const cipher = createSecretCipher([newKey]);
    const sealed = cipher.encrypt(generateWebhookSecret(), endpointId);
    const original = parts(sealed);
    for (let part = 0; part < original.length; part++) {
      const text = original[part] ?? '';
      for (const at of [0, text.length - 1]) {
        const changed = [...original];
        changed[part] = flipChar(text, at);
        assert.throws(
          () => cipher.decrypt(changed.join('.'), endpointId),
          SecretCipherError,
          `part ${part}, char ${at}`,
        );
      }
    }
  });

  it('refuses truncated, extended or garbled sealed values', () => {
    const cipher = createSecretCipher([newKey]);
    const sealed = cipher.encrypt('whsec_x', endpointId);
    const original = parts(sealed);
    const variants = [
      '',
      sealed.slice(0, -1),
      `${sealed}A`,
      `${sealed}.extra`,
      original.slice(0, 4).join('.'),
      [...original.slice(0, 4), ''].join('.'),
      sealed.replace(/^v1\./, 'v2.'),
      [original[0], original[1], original[2], original[3] + 'AA', original[4]].join('.'),
      [original[0], original[1], original[2], (original[3] ?? '').slice(0, 16), original[4]].join('.'),
      [original[0], original[1], original[2], original[3], `${original[4]}==`].join('.'),
    ];
    for (const variant of variants) {
      assert.throws(() => cipher.decrypt(variant, endpointId), SecretCipherError, variant);
    }
  });

  it('refuses to open a sealed value under another context (a row copied to another endpoint)', () => {
    const cipher = createSecretCipher([newKey]);
    const sealed = cipher.encrypt(generateWebhookSecret(), endpointId);
    assert.throws(() => cipher.decrypt(sealed, 'ep_someOtherEndpoint0000'), SecretCipherError);
    assert.throws(() => cipher.decrypt(sealed), SecretCipherError);
    assert.throws(() => cipher.decrypt(sealed, ''), SecretCipherError);
    const noContext = cipher.encrypt('whsec_x');
    assert.throws(() => cipher.decrypt(noContext, endpointId), SecretCipherError);
    assert.throws(() => cipher.decrypt(noContext, ''), SecretCipherError);
  });

  it('refuses a sealed value when its key is not configured', () => {
    const sealed = createSecretCipher([oldKey]).encrypt('whsec_x', endpointId);
    assert.throws(
      () => createSecretCipher([newKey]).decrypt(sealed, endpointId),
      (err: unknown) =>
        err instanceof SecretCipherError &&
        err.message.includes(encryptionKeyId(oldKey)) &&
        /not configured/.test(err.message),
    );
  });
});

describe('key rotation', () => {
  it('opens old values with the old key listed second, and seals new ones with the new key', () => {
    const secret = generateWebhookSecret();
    const before = createSecretCipher([oldKey]).encrypt(secret, endpointId);
    const rotated = createSecretCipher([newKey, oldKey]);

    assert.equal(rotated.decrypt(before, endpointId), secret);

    const after = rotated.encrypt(secret, endpointId);
    assert.equal(parts(before)[1], encryptionKeyId(oldKey));
    assert.equal(parts(after)[1], encryptionKeyId(newKey));
    assert.equal(rotated.decrypt(after, endpointId), secret);
    assert.equal(createSecretCipher([newKey]).decrypt(after, endpointId), secret);
  });

  it('accepts keys with a base64: prefix and surrounding whitespace', () => {
    const sealed = createSecretCipher([`base64:${newKey}`]).encrypt('whsec_x');
    assert.equal(createSecretCipher([` ${newKey}\n`]).decrypt(sealed), 'whsec_x');
    assert.equal(encryptionKeyId(`base64:${newKey}`), encryptionKeyId(newKey));
  });
});

describe('key validation', () => {
  it('refuses a key that is not exactly 32 bytes, naming its index', () => {
    const short = randomBytes(16).toString('base64');
    const long = randomBytes(33).toString('base64');
    assert.throws(
      () => createSecretCipher([newKey, short]),
      (err: unknown) => {
        assert.ok(err instanceof SecretCipherError);
        assert.match(err.message, /keys\[1\]/);
        assert.match(err.message, /16 bytes/);
        assert.ok(!err.message.includes(short), 'the key itself is not in the message');
        return true;
      },
    );
    assert.throws(() => createSecretCipher([long]), /keys\[0\].*33 bytes/);
  });

  it('refuses a key that is not base64, or empty, naming its index', () => {
    assert.throws(() => createSecretCipher([newKey, oldKey, 'not base64!']), /keys\[2\].*not valid base64/);
    assert.throws(() => createSecretCipher([newKey, '']), /keys\[1\].*empty/);
    assert.throws(() => createSecretCipher([newKey, 'base64:']), /keys\[1\].*empty/);
  });

  it('refuses an empty key list and a repeated key', () => {
    assert.throws(() => createSecretCipher([]), /at least one encryption key/);
    assert.throws(() => createSecretCipher([newKey, oldKey, newKey]), /keys\[2\].*repeats/);
  });

  it('keeps keys out of the cipher object', () => {
    const cipher = createSecretCipher([newKey]);
    const raw = Buffer.from(newKey, 'base64');
    assert.deepEqual(Object.keys(cipher).sort(), ['decrypt', 'encrypt']);
    assert.ok(!JSON.stringify(cipher).includes(newKey));
    assert.ok(!JSON.stringify(cipher).includes(raw.toString('hex')));
  });
});

describe('error messages', () => {
  it('never contain the plaintext or the key', () => {
    const secret = generateWebhookSecret();
    const body = secret.slice('whsec_'.length);
    const cipher = createSecretCipher([newKey, oldKey]);
    const sealed = cipher.encrypt(secret, endpointId);
    const failures: unknown[] = [];
    const attempts = [
      () => cipher.decrypt(sealed, 'ep_wrong'),
      () => cipher.decrypt(flipChar(sealed, sealed.length - 1), endpointId),
      () => cipher.decrypt(sealed.slice(0, -3), endpointId),
      () => createSecretCipher([generateEncryptionKey()]).decrypt(sealed, endpointId),
      () => cipher.decrypt(secret, endpointId),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
        assert.fail('expected a refusal');
      } catch (err) {
        failures.push(err);
      }
    }
    for (const err of failures) {
      assert.ok(err instanceof SecretCipherError);
      const text = `${err.message}\n${err.stack ?? ''}\n${String(err.cause ?? '')}`;
      for (const forbidden of [secret, body, newKey, oldKey]) {
        assert.ok(!text.includes(forbidden), `error leaks a secret: ${err.message}`);
      }
    }
  });
});
