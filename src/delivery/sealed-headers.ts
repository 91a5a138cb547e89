import type { SecretCipher } from './secrets.js';

/**
 * An endpoint's custom headers at rest. They often carry a receiver's credentials (an API key, a basic auth
 * pair), so they are stored like the signing secret: the whole map sealed with the SecretCipher
 * (AES-256-GCM), bound to the endpoint id and to this use, so a sealed map copied to another endpoint, or
 * into the secret column, does not open.
 *
 * Stored form, in the jsonb `headers` column: a JSON string, the sealed map; or, in rows written before
 * sealing and for an endpoint without headers, the plain JSON object. Both read; every write seals.
 */
export type StoredHeaders = string | Record<string, string>;

function contextOf(endpointId: string): string {
  return `${endpointId}#headers`;
}

/** The stored form of `headers` for this endpoint: sealed, or `{}` when there are none. */
export function sealHeaders(
  cipher: SecretCipher,
  endpointId: string,
  headers: Record<string, string>,
): StoredHeaders {
  if (Object.keys(headers).length === 0) return {};
  return cipher.encrypt(JSON.stringify(headers), contextOf(endpointId));
}

/** The plain header map of a stored form (sealed, or a legacy plaintext object). */
export function openHeaders(
  cipher: SecretCipher,
  endpointId: string,
  stored: StoredHeaders,
): Record<string, string> {
  if (typeof stored !== 'string') return stored;
  return JSON.parse(cipher.decrypt(stored, contextOf(endpointId))) as Record<string, string>;
}

/** Whether a stored form still holds plaintext (a row written before sealing) that a write should seal. */
export function isPlaintextHeaders(stored: StoredHeaders): boolean {
  return typeof stored !== 'string' && Object.keys(stored).length > 0;
}
