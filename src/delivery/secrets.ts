import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeEncryptionKey, ENCRYPTION_KEY_BYTES, encryptionKeyProblem } from '../encryption-key.js';

/**
 * Endpoint signing secrets and their encryption at rest.
 *
 * A signing secret is shown to the endpoint owner once and stored only sealed with AES-256-GCM under a key
 * from the environment. Several keys may be configured for rotation: the first seals, every key opens.
 *
 * Sealed format (ASCII, safe for a text column):
 *
 *   v1.<keyId>.<iv>.<tag>.<ciphertext>
 *
 * keyId is the first 8 hex characters of SHA-256 of the raw key, so opening goes straight to the right key
 * (and an operator can tell which key a row still needs); iv (12 bytes), tag (16 bytes) and ciphertext are
 * unpadded base64url. The additional authenticated data binds the version, the purpose and the optional
 * context (e.g. the endpoint id), so a sealed value moved to another row or another use does not open.
 */

/** Standard Webhooks secret prefix. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Purpose bound into every sealed value as additional authenticated data. */
export const SECRET_PURPOSE = 'endpoint-secret';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_HEX = 8;

/** Refusal to seal or open a secret. Messages never contain a plaintext or a key. */
export class SecretCipherError extends Error {
  override name = 'SecretCipherError';
}

export interface SecretCipher {
  /** Seals `plain`; `context` (e.g. the endpoint id) must be given again, identically, to open it. */
  encrypt(plain: string, context?: string): string;
  /** Opens a value sealed by `encrypt` with the same `context`; throws SecretCipherError otherwise. */
  decrypt(sealed: string, context?: string): string;
}

/** A new endpoint signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks format). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A new encryption key for the environment: base64 of 32 random bytes. */
export function generateEncryptionKey(): string {
  return randomBytes(ENCRYPTION_KEY_BYTES).toString('base64');
}

/** Short public fingerprint of a raw key, stored in sealed values to pick the key. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, KEY_ID_HEX);
}

/**
 * The key id that sealed values carry for this base64 key (same validation as createSecretCipher). Safe to
 * log: lets an operator see which configured key a stored value needs before retiring one.
 */
export function encryptionKeyId(key: string): string {
  return keyIdOf(parseKey(key, 'encryption key'));
}

function parseKey(raw: unknown, where: string): Buffer {
  if (typeof raw !== 'string') throw new SecretCipherError(`${where} is not a string`);
  const problem = encryptionKeyProblem(raw);
  if (problem) {
    const hint = problem.startsWith('decodes') ? ' (generate one with generateEncryptionKey())' : '';
    throw new SecretCipherError(`${where} ${problem}${hint}`);
  }
  return decodeEncryptionKey(raw);
}

/** Strict unpadded base64url: rejects anything that does not re-encode to itself (no silent bit slack). */
function decodeB64url(part: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

function aadFor(context: string | undefined): Buffer {
  // JSON keeps the parts unambiguous, and tells "no context" apart from an empty one.
  return Buffer.from(JSON.stringify([VERSION, SECRET_PURPOSE, context ?? null]), 'utf8');
}

function checkContext(context: unknown): string | undefined {
  if (context === undefined || typeof context === 'string') return context;
  throw new SecretCipherError('context must be a string when given');
}

/**
 * A cipher over the given base64 keys (a `base64:` prefix and surrounding whitespace are allowed). The first
 * key seals; all keys open. Throws SecretCipherError naming the index of a bad key, or when no key is given.
 */
export function createSecretCipher(keys: readonly string[]): SecretCipher {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new SecretCipherError('at least one encryption key is required');
  }
  const parsed = keys.map((raw, index) => ({ index, key: parseKey(raw, `encryption keys[${index}]`) }));
  const byId = new Map<string, Buffer[]>();
  for (const { index, key } of parsed) {
    const id = keyIdOf(key);
    const same = byId.get(id) ?? [];
    if (same.some((k) => k.equals(key))) {
      throw new SecretCipherError(`encryption keys[${index}] repeats an earlier key`);
    }
    // Distinct keys sharing a 32-bit fingerprint are all tried: astronomically rare, but still correct.
    same.push(key);
    byId.set(id, same);
  }
  const current = parsed[0]!.key;
  const currentKeyId = keyIdOf(current);

  function encrypt(plain: string, context?: string): string {
    if (typeof plain !== 'string') throw new SecretCipherError('plaintext must be a string');
    const aad = aadFor(checkContext(context));
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      VERSION,
      currentKeyId,
      iv.toString('base64url'),
      tag.toString('base64url'),
      ciphertext.toString('base64url'),
    ].join('.');
  }

  function decrypt(sealed: string, context?: string): string {
    if (typeof sealed !== 'string') throw new SecretCipherError('sealed secret must be a string');
    const aad = aadFor(checkContext(context));
    const parts = sealed.split('.');
    if (parts.length !== 5) throw new SecretCipherError('sealed secret is malformed');
    const [version, keyId, ivText, tagText, ctText] = parts as [string, string, string, string, string];
    if (version !== VERSION) throw new SecretCipherError('sealed secret has an unsupported version');
    if (!/^[0-9a-f]{8}$/.test(keyId)) throw new SecretCipherError('sealed secret is malformed');
    const iv = decodeB64url(ivText);
    const tag = decodeB64url(tagText);
    const ciphertext = decodeB64url(ctText);
    if (!iv || iv.length !== IV_BYTES || !tag || tag.length !== TAG_BYTES || !ciphertext) {
      throw new SecretCipherError('sealed secret is malformed');
    }
    const candidates = byId.get(keyId);
    if (!candidates) {
      // The fingerprint is public by design; naming it tells the operator which retired key is still needed.
      throw new SecretCipherError(`sealed secret was encrypted with key ${keyId}, which is not configured`);
    }
    for (const key of candidates) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // Authentication failed with this key; try the next candidate, if any.
      }
    }
    throw new SecretCipherError(
      'sealed secret failed authentication (tampered, or opened with a different context)',
    );
  }

  // Keys live only in this closure: the returned object has nothing secret to log or serialize.
  return Object.freeze({ encrypt, decrypt });
}
