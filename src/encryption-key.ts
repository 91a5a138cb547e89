/**
 * The format of an encryption key in `SECRETS_ENCRYPTION_KEYS`: base64 (a `base64:` prefix and surrounding
 * whitespace allowed) of exactly 32 bytes, an AES-256 key. At the base layer, so the configuration can refuse
 * a bad key at start, before anything is sealed or opened with it (src/delivery/secrets.ts).
 */

/** Bytes in an AES-256 key. */
export const ENCRYPTION_KEY_BYTES = 32;

function bareKeyText(raw: string): string {
  const text = raw.trim();
  return text.startsWith('base64:') ? text.slice('base64:'.length) : text;
}

/** Null if `raw` is a valid key, else what is wrong with it (never the key itself). */
export function encryptionKeyProblem(raw: string): string | null {
  const text = bareKeyText(raw);
  if (text === '') return 'is empty';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return `is not valid base64 (expected base64 of exactly ${ENCRYPTION_KEY_BYTES} bytes)`;
  }
  const bytes = Buffer.from(text, 'base64').length;
  if (bytes !== ENCRYPTION_KEY_BYTES) {
    return `decodes to ${bytes} bytes; AES-256-GCM needs exactly ${ENCRYPTION_KEY_BYTES}`;
  }
  return null;
}

/** The raw key bytes of a key {@link encryptionKeyProblem} accepts. */
export function decodeEncryptionKey(raw: string): Buffer {
  return Buffer.from(bareKeyText(raw), 'base64');
}
