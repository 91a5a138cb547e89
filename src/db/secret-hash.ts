import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * How presented secrets (API keys, portal tokens) are kept and checked: only the SHA-256 of the secret part
 * is stored, and comparisons run in constant time, a missing row included, so timing tells nothing about
 * which part of a credential was wrong.
 */

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

const DUMMY_HASH = hashSecret('no such key');

/** Whether `secret` hashes to `stored`; a missing `stored` still costs one comparison and is false. */
export function secretMatches(secret: string, stored: Buffer | undefined): boolean {
  const equal = timingSafeEqual(hashSecret(secret), stored ?? DUMMY_HASH);
  return stored !== undefined && equal;
}
