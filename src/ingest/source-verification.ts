import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Pool } from '../db/pool.js';
import { livePreviousSecrets } from '../db/secret-rotation.js';
import {
  findSourceForInbound,
  forgetInboundMessage,
  pruneInboundMessages,
  recordInboundMessage,
  type Source,
  type SourceVerification,
} from '../db/sources.js';
import type { DeliveryRuntime } from '../delivery/deps.js';
import { signPayload } from '../delivery/signing.js';
import { cidrContains, parseCidr } from '../delivery/ssrf.js';

/**
 * Verifying an inbound source's request (the use case behind /v1/inbound, src/api/routes/inbound.ts).
 * Verification comes first and changes nothing when it fails: an unknown or deleted source, a foreign
 * address (IP allowlist), a wrong token, a missing, stale (more than 5 minutes off) or wrong signature, and a
 * replay (the same webhook-id and webhook-timestamp again) are all a SourceRefusal, which the route logs
 * with its reason and answers with one 401, so source ids cannot be probed.
 */

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
export const INBOUND_TOLERANCE_MS = 5 * 60_000;
export const SOURCE_ID = /^src_[A-Za-z0-9]{1,40}$/;
const PRUNE_EVERY_MS = 60_000;
const MAX_MESSAGE_ID_LENGTH = 256;

export interface SourceVerificationDeps {
  pool: Pool;
  delivery: Pick<DeliveryRuntime, 'cipher'>;
  logger: Logger;
}

/** What the request presents. */
export interface InboundCredentials {
  sourceId: string;
  /** The caller's address, for the source's IP allowlist. */
  ip: string;
  /** Token sources: the token in the path. */
  token?: string | undefined;
  /** Hmac sources: the Standard Webhooks headers (or their svix- spelling) and the raw body. */
  webhook?: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined };
  raw?: Buffer | undefined;
}

export interface VerifiedSource {
  source: Source;
  /** The signed message recorded against replays (hmac only). */
  message?: { id: string; signedAt: Date };
}

/** Refused: the reason is for the log, never for the caller. */
export class SourceRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Every live secret is compared, without stopping at a match, in constant time per comparison. */
export function tokenMatches(presented: string, secrets: readonly string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const secret of secrets) ok = timingSafeEqual(p, digest(secret)) || ok;
  return ok;
}

/** Whether `webhook-signature` holds a `v1,` signature of "id.timestamp.body" under any live secret. */
export function signatureMatches(
  raw: Buffer,
  msgId: string,
  timestamp: number,
  header: string,
  secrets: readonly string[],
): boolean {
  const decode = (list: string) =>
    list
      .split(' ')
      .filter((s) => s.startsWith('v1,'))
      .map((s) => Buffer.from(s.slice('v1,'.length), 'base64'));
  let expected: Buffer[];
  try {
    expected = decode(
      signPayload({ msgId, timestamp, body: raw.toString('utf8'), secrets })['webhook-signature'],
    );
  } catch {
    return false; // a message id or timestamp signPayload refuses cannot have been signed by us either
  }
  const presented = decode(header);
  let ok = false;
  for (const p of presented) {
    for (const e of expected) if (p.length === e.length) ok = timingSafeEqual(p, e) || ok;
  }
  return ok;
}

/** Whether `ip` is allowed by the source's allowlist (an empty list allows every address). */
export function ipAllowed(allowlist: readonly string[], ip: string): boolean {
  return allowlist.length === 0 || allowlist.some((cidr) => cidrContains(parseCidr(cidr), ip));
}

/** Verifies inbound requests for one API process (it remembers when it last pruned replay records). */
export function sourceVerifier(deps: SourceVerificationDeps) {
  let lastPrune = 0;

  const liveSecrets = (source: Source): string[] => {
    const now = Date.now();
    return [
      deps.delivery.cipher.decrypt(source.secretSealed, source.id),
      // Expired ones are never opened, and at most MAX_PREVIOUS_SECRETS: this runs before authentication.
      ...livePreviousSecrets(source.previousSecrets, now).map((s) =>
        deps.delivery.cipher.decrypt(s.sealed, source.id),
      ),
    ];
  };

  const prune = () => {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    pruneInboundMessages(deps.pool, INBOUND_TOLERANCE_MS).catch((err: Error) =>
      deps.logger.warn({ err: { message: err.message } }, 'pruning seen inbound messages failed'),
    );
  };

  /** The verified source, or a SourceRefusal. An accepted hmac message is recorded against replays. */
  async function verify(kind: SourceVerification, presented: InboundCredentials): Promise<VerifiedSource> {
    if (!SOURCE_ID.test(presented.sourceId)) throw new SourceRefusal('malformed_source_id');
    const source = await findSourceForInbound(deps.pool, presented.sourceId);
    if (!source) throw new SourceRefusal('unknown_source');
    if (source.verification !== kind) throw new SourceRefusal(`not_a_${kind}_source`);
    if (!ipAllowed(source.ipAllowlist, presented.ip)) throw new SourceRefusal('ip_not_allowed');
    const secrets = liveSecrets(source);
    if (kind === 'token') {
      if (!tokenMatches(presented.token ?? '', secrets)) throw new SourceRefusal('wrong_token');
      return { source };
    }
    const { id: msgId, timestamp, signature } = presented.webhook ?? {};
    if (!msgId || !timestamp || !signature) throw new SourceRefusal('missing_signature_headers');
    if (msgId.length > MAX_MESSAGE_ID_LENGTH) throw new SourceRefusal('message_id_too_long');
    if (!/^\d{1,12}$/.test(timestamp)) throw new SourceRefusal('malformed_timestamp');
    const seconds = Number(timestamp);
    if (Math.abs(Date.now() - seconds * 1000) > INBOUND_TOLERANCE_MS)
      throw new SourceRefusal('stale_timestamp');
    if (!signatureMatches(presented.raw ?? Buffer.alloc(0), msgId, seconds, signature, secrets))
      throw new SourceRefusal('wrong_signature');
    const signedAt = new Date(seconds * 1000);
    prune();
    if (!(await recordInboundMessage(deps.pool, source.id, msgId, signedAt)))
      throw new SourceRefusal('replay');
    return { source, message: { id: msgId, signedAt } };
  }

  /** Undoes the replay record of a request that changed nothing (answered 503), so its retry passes. */
  async function forgetMessage(verified: VerifiedSource): Promise<void> {
    if (!verified.message) return;
    const { id, signedAt } = verified.message;
    await forgetInboundMessage(deps.pool, verified.source.id, id, signedAt).catch(() => undefined);
  }

  return { verify, forgetMessage };
}
