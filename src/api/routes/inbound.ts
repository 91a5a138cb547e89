import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Pool } from '../../db/pool.js';
import { recordInboundRequest } from '../../db/inbound-requests.js';
import type { SourceVerification } from '../../db/sources.js';
import type { DeliveryRuntime } from '../../delivery/deps.js';
import { eventsRefused } from '../../metrics.js';
import { acceptBatch, MAX_BATCH_EVENTS, type BatchItemResult } from '../../ingest/accept-batch.js';
import type { AcceptDeps } from '../../ingest/accept-event.js';
import { mapPostback, type PostbackQuery } from '../../ingest/inbound-map.js';
import {
  SOURCE_ID,
  SourceRefusal,
  sourceVerifier,
  type VerifiedSource,
} from '../../ingest/source-verification.js';
import { AppError, errors } from '../../errors.js';
import { parseJsonBody } from '../json-depth.js';
import { BatchUnavailableError } from './events-batch.js';

export { INBOUND_TOLERANCE_MS } from '../../ingest/source-verification.js';
export { withInboundPaths } from './inbound-openapi.js';

/**
 * Inbound routes: a source pushes events for its operator without the operator's API key.
 *
 *   POST /v1/inbound/{sourceId}            hmac source: Standard Webhooks signature over the raw body
 *   POST /v1/inbound/{sourceId}/{token}    token source: the secret token in the path
 *   GET  /v1/inbound/{sourceId}/{token}?…  token source: a postback, mapped by the source's field map
 *
 * Verification (src/ingest/source-verification.ts) comes first and changes nothing when it fails; every
 * refusal gets the same 401, so source ids cannot be probed. Only then is the body parsed.
 *
 * A POST body is one event (answered exactly like POST /v1/events) or an array of up to 500 (answered like
 * POST /v1/events/batch). GET postbacks need a token source: there is no body to sign.
 */

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export interface InboundDeps {
  pool: Pool;
  accept: AcceptDeps;
  delivery: Pick<DeliveryRuntime, 'cipher'>;
  maxBodyBytes: number;
  logger: Logger;
}

const unverified = () =>
  new AppError(401, 'unauthorized', 'The request could not be verified for this inbound source.');

/** A Standard Webhooks header, or its `svix-` spelling (what Svix-based senders send). */
function webhookHeader(req: Request, name: 'id' | 'timestamp' | 'signature'): string | undefined {
  return req.get(`webhook-${name}`) ?? req.get(`svix-${name}`);
}

export function inboundRouter(deps: InboundDeps): Router {
  const router = express.Router();
  const verifier = sourceVerifier(deps);

  /** The verified source; a refusal is logged with its reason and answered 401 without it. */
  async function verify(
    req: Request,
    res: Response,
    kind: SourceVerification,
    raw: Buffer | undefined,
  ): Promise<VerifiedSource> {
    const sourceId = String(req.params.sourceId);
    try {
      return await verifier.verify(kind, {
        sourceId,
        ip: req.ip ?? req.socket.remoteAddress ?? '',
        token: String(req.params.token ?? ''),
        webhook: {
          id: webhookHeader(req, 'id'),
          timestamp: webhookHeader(req, 'timestamp'),
          signature: webhookHeader(req, 'signature'),
        },
        raw,
      });
    } catch (err) {
      if (!(err instanceof SourceRefusal)) throw err;
      res.locals.inboundReason = err.reason;
      (res.locals.log as Logger | undefined)?.info(
        { sourceId: SOURCE_ID.test(sourceId) ? sourceId : undefined, reason: err.reason },
        'inbound request refused',
      );
      // One reason in the metrics, as in the answer: /metrics is open, and must not tell probes apart.
      eventsRefused.inc({ source: 'inbound', reason: 'unverified' });
      throw unverified();
    }
  }

  /** Undoes the replay record when the answer is 503: that request changed nothing, its retry must pass. */
  async function forgetOn503<T>(verified: VerifiedSource, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof AppError && err.status === 503) await verifier.forgetMessage(verified);
      throw err;
    }
  }

  router.use('/v1/inbound', redactAndNote(deps));

  const limit = deps.maxBodyBytes;
  const contentCheck = checkContent(limit);
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
          res.locals.inboundEventIds = eventIdsOf(outcome.results);
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
        res.locals.inboundEventIds = eventIdsOf(outcome.results);
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
    res.locals.inboundEventIds = eventIdsOf(outcome.results);
    answerOne(res, outcome.results[0]!);
  });
  // No token: an hmac source cannot take a postback (nothing to sign), and the answer is the same 401.
  router.get('/v1/inbound/:sourceId', async (req, res) => {
    await verify(req, res, 'token', undefined);
    throw unverified(); // not reached: an empty token matches nothing
  });

  return router;
}

/**
 * The token is a secret: the request log shows the path without it. Once answered, the request is noted
 * for the source's operator (GET /v1/sources/{id}/requests), with the reason of a refusal as a code.
 */
function redactAndNote(deps: Pick<InboundDeps, 'pool' | 'logger'>): RequestHandler {
  const note = (req: Request, res: Response, sourceId: string): void => {
    const status = res.statusCode;
    const reason =
      status < 400
        ? null
        : ((res.locals.inboundReason as string | undefined) ??
          (res.locals.errorCode as string | undefined) ??
          `http_${status}`);
    recordInboundRequest(deps.pool, {
      sourceId,
      method: req.method,
      ip: req.ip ?? req.socket.remoteAddress ?? '',
      status,
      reason,
      eventIds: (res.locals.inboundEventIds as string[] | undefined) ?? [],
    }).catch((err: Error) =>
      ((res.locals.log as Logger | undefined) ?? deps.logger).warn(
        { sourceId, err: err.message },
        'inbound request not noted',
      ),
    );
  };
  return (req, res, next) => {
    const [sourceId, ...rest] = req.path.split('/').filter(Boolean);
    res.locals.logPath = `/v1/inbound/${(sourceId ?? '').slice(0, 64)}${rest.length ? '/[redacted]' : ''}`;
    if (sourceId && SOURCE_ID.test(sourceId)) res.on('finish', () => note(req, res, sourceId));
    next();
  };
}

/** Refuses a body that is not JSON or is announced over the limit, before a byte of it is read. */
function checkContent(limit: number): RequestHandler {
  return (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    const type = req.headers['content-type'];
    if (!type || !JSON_TYPE.test(type)) return next(errors.unsupportedMediaType(type));
    if (length !== undefined && Number(length) > limit) return next(errors.payloadTooLarge(limit));
    next();
  };
}

/** The event ids a request carried, as far as they could be read. */
function eventIdsOf(results: BatchItemResult[]): string[] {
  return results.map((r) => r.id).filter((id): id is string => typeof id === 'string');
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
