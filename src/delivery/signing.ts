import { createHmac } from 'node:crypto';
import { WEBHOOK_SECRET_PREFIX } from './secrets.js';

/**
 * Standard Webhooks signatures for outgoing deliveries.
 *
 * The signed content is `${msgId}.${timestampSeconds}.${body}`, HMAC-SHA256 keyed by the bytes of the secret
 * (base64 after `whsec_`). `webhook-signature` carries one `v1,<base64>` entry per live secret, separated by
 * spaces, so a receiver holding either the new or the previous secret verifies during a rotation.
 */

/** A type alias, not an interface, so it is assignable to `Record<string, string>` (e.g. fetch headers). */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignPayloadArgs {
  /** Message id, stable across retries of the same message (receivers deduplicate on it). */
  msgId: string;
  /** Send time: a Date, or whole unix seconds. */
  timestamp: Date | number;
  /** The exact body that will be sent; any re-serialization after signing breaks verification. */
  body: string;
  /** Plaintext `whsec_` secrets: current first, then previous ones still inside their grace period. */
  secrets: readonly string[];
}

/** Standard Webhooks recommends secrets of 24 to 64 bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Unix seconds stay below this until the year 5138; anything larger is almost surely milliseconds. */
const MAX_UNIX_SECONDS = 1e11;

function secretKey(secret: unknown, index: number): Buffer {
  const where = `secrets[${index}]`;
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new TypeError(`${where} must be a string starting with "${WEBHOOK_SECRET_PREFIX}"`);
  }
  const text = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new TypeError(`${where} is not valid base64`);
  const key = Buffer.from(text, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new TypeError(
      `${where} decodes to ${key.length} bytes; expected ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}`,
    );
  }
  return key;
}

function unixSeconds(timestamp: Date | number): number {
  if (timestamp instanceof Date) {
    const ms = timestamp.getTime();
    if (Number.isNaN(ms)) throw new TypeError('timestamp is an invalid Date');
    return Math.floor(ms / 1000);
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError('timestamp must be whole, non-negative unix seconds');
  }
  if (timestamp >= MAX_UNIX_SECONDS) {
    throw new TypeError('timestamp looks like milliseconds; pass unix seconds or a Date');
  }
  return timestamp;
}

/**
 * Headers for one delivery attempt. Throws TypeError when `secrets` is empty or a secret is malformed (naming
 * its index, never its value), when `msgId` is empty, contains '.' or anything but visible ASCII, or when the
 * timestamp is invalid. Sign each attempt afresh: receivers refuse timestamps more than 5 minutes off.
 */
export function signPayload(args: SignPayloadArgs): WebhookHeaders {
  const { msgId, timestamp, body, secrets } = args;
  if (typeof msgId !== 'string' || msgId === '') throw new TypeError('msgId must be a non-empty string');
  if (msgId.includes('.')) throw new TypeError("msgId must not contain '.' (it delimits the signed content)");
  if (!/^[\x21-\x7e]+$/.test(msgId))
    throw new TypeError('msgId must be visible ASCII (it is sent as a header)');
  if (typeof body !== 'string') throw new TypeError('body must be a string');
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError('at least one signing secret is required');
  }
  const keys = secrets.map(secretKey);
  const seconds = String(unixSeconds(timestamp));
  const content = `${msgId}.${seconds}.${body}`;
  const signatures = keys.map(
    (key) => `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`,
  );
  return {
    'webhook-id': msgId,
    'webhook-timestamp': seconds,
    'webhook-signature': signatures.join(' '),
  };
}
