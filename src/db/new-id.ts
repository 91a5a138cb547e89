import { randomBytes } from 'node:crypto';
import { ID_PREFIXES, type IdKind } from '../domain/ids.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random base62 string; rejection sampling keeps every character equally likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** A minted id with its kind prefix, e.g. `op_3fK9...` (docs/api-v1.md section 1). */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}${randomBase62(20)}`;
}
