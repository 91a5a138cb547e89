import { createHash, timingSafeEqual } from 'node:crypto';
import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Pool } from '../../db/pool.js';
import { livePreviousSecrets } from '../../db/secret-rotation.js';
import {
  findSourceForInbound,
  forgetInboundMessage,
  pruneInboundMessages,
  recordInboundMessage,
  type Source,
  type SourceVerification,
} from '../../db/sources.js';
import type { DeliveryRuntime } from '../../delivery/deps.js';
import { cidrContains, parseCidr } from '../../delivery/ssrf.js';
import { signPayload } from '../../delivery/signing.js';
import { acceptBatch, MAX_BATCH_EVENTS, type BatchItemResult } from '../../ingest/accept-batch.js';
import type { AcceptDeps } from '../../ingest/accept-event.js';
import { mapPostback, type PostbackQuery } from '../../ingest/inbound-map.js';
import { AppError, errors } from '../errors.js';
import { parseJsonBody } from '../json-depth.js';
import type { buildOpenApi } from '../openapi.js';
import { EventBatchOut, EventBatchUnavailableOut } from '../schemas/batch.js';
import { ErrorOut } from '../schemas/common.js';
import { EventAcceptedOut } from '../schemas/events.js';
import { BatchUnavailableError } from './events-batch.js';

/**
 * Inbound routes: a source pushes events for its operator without the operator's API key.
 *
 *   POST /v1/inbound/{sourceId}            hmac source: Standard Webhooks signature over the raw body
 *   POST /v1/inbound/{sourceId}/{token}    token source: the secret token in the path
 *   GET  /v1/inbound/{sourceId}/{token}?…  token source: a postback, mapped by the source's field map
 *
 * Verification comes first and changes nothing when it fails: an unknown or deleted source, a foreign
 * address (IP allowlist), a wrong token, a missing, stale (more than 5 minutes off) or wrong signature, and
 * a replay (the same webhook-id and webhook-timestamp again) all get the same 401, so source ids cannot be
 * probed. The reason goes to the log, never to the caller. Only then is the body parsed.
 *
 * A POST body is one event (answered exactly like POST /v1/events) or an array of up to 500 (answered like
 * POST /v1/events/batch). GET postbacks need a token source: there is no body to sign.
 */

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
export const INBOUND_TOLERANCE_MS = 5 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const SOURCE_ID = /^src_[A-Za-z0-9]{1,40}$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const MAX_MESSAGE_ID_LENGTH = 256;

export interface InboundDeps {
  pool: Pool;
  accept: AcceptDeps;
  delivery: Pick<DeliveryRuntime, 'cipher'>;
  maxBodyBytes: number;
  logger: Logger;
}

const unverified = () =>
  new AppError(401, 'unauthorized', 'The request could not be verified for this inbound source.');

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Every live secret is compared, without stopping at a match, in constant time per comparison. */
function tokenMatches(presented: string, secrets: readonly string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const secret of secrets) ok = timingSafeEqual(p, digest(secret)) || ok;
  return ok;
}

/** Whether `webhook-signature` holds a `v1,` signature of "id.timestamp.body" under any live secret. */
function signatureMatches(
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

/** A Standard Webhooks header, or its `svix-` spelling (what Svix-based senders send). */
function webhookHeader(req: Request, name: 'id' | 'timestamp' | 'signature'): string | undefined {
  return req.get(`webhook-${name}`) ?? req.get(`svix-${name}`);
}

interface Verified {
  source: Source;
  /** The signed message recorded against replays (hmac only). */
  message?: { id: string; signedAt: Date };
}

/** Refused: logged with its reason, answered 401 without it. */
class Refusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function inboundRouter(deps: InboundDeps): Router {
  const router = express.Router();
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

  async function verify(
    req: Request,
    res: Response,
    kind: SourceVerification,
    raw: Buffer | undefined,
  ): Promise<Verified> {
    const sourceId = String(req.params.sourceId);
    try {
      if (!SOURCE_ID.test(sourceId)) throw new Refusal('malformed_source_id');
      const source = await findSourceForInbound(deps.pool, sourceId);
      if (!source) throw new Refusal('unknown_source');
      if (source.verification !== kind) throw new Refusal(`not_a_${kind}_source`);
      if (source.ipAllowlist.length > 0) {
        const ip = req.ip ?? req.socket.remoteAddress ?? '';
        if (!source.ipAllowlist.some((cidr) => cidrContains(parseCidr(cidr), ip)))
          throw new Refusal('ip_not_allowed');
      }
      const secrets = liveSecrets(source);
      if (kind === 'token') {
        if (!tokenMatches(String(req.params.token ?? ''), secrets)) throw new Refusal('wrong_token');
        return { source };
      }
      const msgId = webhookHeader(req, 'id');
      const timestamp = webhookHeader(req, 'timestamp');
      const signature = webhookHeader(req, 'signature');
      if (!msgId || !timestamp || !signature) throw new Refusal('missing_signature_headers');
      if (msgId.length > MAX_MESSAGE_ID_LENGTH) throw new Refusal('message_id_too_long');
      if (!/^\d{1,12}$/.test(timestamp)) throw new Refusal('malformed_timestamp');
      const seconds = Number(timestamp);
      if (Math.abs(Date.now() - seconds * 1000) > INBOUND_TOLERANCE_MS) throw new Refusal('stale_timestamp');
      if (!signatureMatches(raw ?? Buffer.alloc(0), msgId, seconds, signature, secrets))
        throw new Refusal('wrong_signature');
      const signedAt = new Date(seconds * 1000);
      prune();
      if (!(await recordInboundMessage(deps.pool, source.id, msgId, signedAt))) throw new Refusal('replay');
      return { source, message: { id: msgId, signedAt } };
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      (res.locals.log as Logger | undefined)?.info(
        { sourceId: SOURCE_ID.test(sourceId) ? sourceId : undefined, reason: err.reason },
        'inbound request refused',
      );
      throw unverified();
    }
  }

  /** Undoes the replay record when the answer is 503: that request changed nothing, its retry must pass. */
  async function forgetOn503<T>(verified: Verified, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (verified.message && err instanceof AppError && err.status === 503) {
        const { id, signedAt } = verified.message;
        await forgetInboundMessage(deps.pool, verified.source.id, id, signedAt).catch(() => undefined);
      }
      throw err;
    }
  }

  // The token is a secret: the request log shows the path without it.
  router.use('/v1/inbound', (req, res, next) => {
    const [sourceId, ...rest] = req.path.split('/').filter(Boolean);
    res.locals.logPath = `/v1/inbound/${(sourceId ?? '').slice(0, 64)}${rest.length ? '/[redacted]' : ''}`;
    next();
  });

  const limit = deps.maxBodyBytes;
  const contentCheck: RequestHandler = (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    const type = req.headers['content-type'];
    if (!type || !JSON_TYPE.test(type)) return next(errors.unsupportedMediaType(type));
    if (length !== undefined && Number(length) > limit) return next(errors.payloadTooLarge(limit));
    next();
  };
  // Raw bytes: the signature is over the body exactly as sent, so it is parsed only after verification.
  const rawBody = express.raw({ type: () => true, limit });

  const post =
    (kind: SourceVerification): RequestHandler =>
    async (req, res) => {
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = await verify(req, res, kind, raw);
      await forgetOn503(verified, async () => {
        const body = raw.length > 0 ? parseJsonBody(raw) : undefined;
        const operatorId = verified.source.operatorId;
        if (Array.isArray(body)) {
          if (body.length === 0 || body.length > MAX_BATCH_EVENTS) {
            throw new AppError(422, 'validation_failed', 'The request does not match the schema.', [
              { path: '', message: `an array of 1 to ${MAX_BATCH_EVENTS} events` },
            ]);
          }
          const outcome = await acceptBatch(deps.accept, operatorId, body, { sourceId: verified.source.id });
          if (outcome.unavailable) throw new BatchUnavailableError(outcome.results);
          res.status(200).json({ results: outcome.results });
          return;
        }
        if (body === null || typeof body !== 'object') {
          throw new AppError(422, 'validation_failed', 'The request does not match the schema.', [
            { path: '', message: `an event object or an array of 1 to ${MAX_BATCH_EVENTS} events` },
          ]);
        }
        const outcome = await acceptBatch(deps.accept, operatorId, [body], { sourceId: verified.source.id });
        answerOne(res, outcome.results[0]!);
      });
    };

  router.post('/v1/inbound/:sourceId', contentCheck, rawBody, post('hmac'));
  router.post('/v1/inbound/:sourceId/:token', contentCheck, rawBody, post('token'));

  router.get('/v1/inbound/:sourceId/:token', async (req, res) => {
    // Express answers HEAD with the GET route; a HEAD (a link checker, a proxy) must not ingest anything.
    if (req.method === 'HEAD') {
      res.status(405).set('allow', 'GET, POST').end();
      return;
    }
    const verified = await verify(req, res, 'token', undefined);
    const mapped = mapPostback(req.query as PostbackQuery, verified.source, new Date());
    if (!mapped.ok) {
      throw new AppError(
        422,
        'validation_failed',
        'The postback does not map to a valid event.',
        mapped.issues,
      );
    }
    const outcome = await acceptBatch(deps.accept, verified.source.operatorId, [mapped.event], {
      hashOf: () => mapped.hash,
      sourceId: verified.source.id,
    });
    answerOne(res, outcome.results[0]!);
  });
  // No token: an hmac source cannot take a postback (nothing to sign), and the answer is the same 401.
  router.get('/v1/inbound/:sourceId', async (req, res) => {
    await verify(req, res, 'token', undefined);
    throw unverified(); // not reached: an empty token matches nothing
  });

  return router;
}

/** One event's result, answered as POST /v1/events answers it. */
function answerOne(res: Response, r: BatchItemResult): void {
  switch (r.status) {
    case 'accepted':
    case 'duplicate':
      res.status(r.status === 'accepted' ? 202 : 200).json({
        eventId: r.id,
        status: 'accepted',
        duplicate: r.status === 'duplicate',
        workflowId: r.workflowId,
      });
      return;
    case 'conflict':
      throw errors.eventConflict(r.id!);
    case 'invalid':
      throw new AppError(422, 'validation_failed', 'The request does not match the schema.', r.issues);
    case 'unavailable':
      throw errors.unavailable('temporal');
  }
}

type OpenApiDocument = ReturnType<typeof buildOpenApi>;

/**
 * The OpenAPI document with the inbound routes added. They are not route definitions (no API key, raw
 * body), so they are described here, from the same zod schemas, without the bearer requirement.
 */
export function withInboundPaths(doc: OpenApiDocument): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const SourceParams = z.object({ sourceId: z.string().describe('The source id, src_...') });
  const TokenParams = SourceParams.extend({ token: z.string().describe("The token source's token") });
  const SignatureHeaders = z.object({
    'webhook-id': z.string().describe('Message id (svix-id is accepted too)'),
    'webhook-timestamp': z.string().describe('Unix seconds; refused when more than 5 minutes off'),
    'webhook-signature': z
      .string()
      .describe('v1,<base64 HMAC-SHA256 of "id.timestamp.body">, space-separated'),
  });
  // By reference: EventIn is a component of the document these paths join (POST /v1/events uses it).
  const eventRef = { $ref: '#/components/schemas/EventIn' };
  const Body = z.unknown().meta({
    description: `One event, or an array of 1 to ${MAX_BATCH_EVENTS} (each validated and answered on its own)`,
    anyOf: [eventRef, { type: 'array', items: eventRef, minItems: 1, maxItems: MAX_BATCH_EVENTS }],
  });
  const postResponses = {
    202: { description: 'One event: recorded and its workflow started', schema: EventAcceptedOut },
    200: {
      description: 'One event: a duplicate. An array: one result per item, in input order',
      schema: z.union([EventAcceptedOut, EventBatchOut]),
    },
    400: { description: 'Malformed JSON', schema: ErrorOut },
    401: { description: 'Not verified (same answer whatever failed); nothing was stored', schema: ErrorOut },
    409: { description: 'One event: same id, different body', schema: ErrorOut },
    413: { description: 'Body over the limit', schema: ErrorOut },
    415: { description: 'Not JSON', schema: ErrorOut },
    422: { description: 'Invalid event, or not an event or an array of 1 to 500', schema: ErrorOut },
    503: {
      description: 'Temporal or PostgreSQL unreachable; retry (an array answers each item)',
      schema: z.union([ErrorOut, EventBatchUnavailableOut]),
    },
  };
  const content = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
  const responses = (r: Record<number, { description: string; schema: z.ZodType }>) =>
    Object.fromEntries(
      Object.entries(r).map(([status, v]) => [status, { description: v.description, ...content(v.schema) }]),
    );
  registry.registerPath({
    method: 'post',
    path: '/v1/inbound/{sourceId}',
    summary: 'An hmac source sends one event or up to 500, signed per Standard Webhooks',
    security: [],
    request: { params: SourceParams, headers: SignatureHeaders, body: content(Body) },
    responses: responses(postResponses),
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/inbound/{sourceId}/{token}',
    summary: 'A token source sends one event or up to 500',
    security: [],
    request: { params: TokenParams, body: content(Body) },
    responses: responses(postResponses),
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/inbound/{sourceId}/{token}',
    summary: "A token source's postback: query fields become an event by the source's fieldMap",
    description:
      'Any query fields; the source maps them (fieldMap, statusMap, defaults) to one event, validated like POST /v1/events.',
    security: [],
    request: { params: TokenParams },
    responses: responses({
      202: postResponses[202],
      200: { description: 'A duplicate', schema: EventAcceptedOut },
      401: postResponses[401],
      409: postResponses[409],
      422: {
        description: 'The query does not map to a valid event; details name the fields',
        schema: ErrorOut,
      },
      503: { description: 'Temporal or PostgreSQL unreachable; retry', schema: ErrorOut },
    }),
  });
  const inbound = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: doc.openapi,
    info: doc.info,
  });
  return {
    ...doc,
    paths: { ...doc.paths, ...inbound.paths },
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...inbound.components?.schemas },
    },
  };
}
