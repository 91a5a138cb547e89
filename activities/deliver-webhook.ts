import { setTimeout as sleep } from 'node:timers/promises';
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { finishDelivery, recordAttempt, type DeliveryStatus } from '../src/db/deliveries.js';
import {
  disableEndpoint,
  findEndpoint,
  findSubscribedEndpoints,
  type PreviousSecret,
} from '../src/db/endpoints.js';
import { reserveSendSlot } from '../src/db/rate-limit.js';
import type { Pool } from '../src/db/pool.js';
import type { HttpOutcome, HttpSender } from '../src/delivery/http.js';
import type { SecretCipher } from '../src/delivery/secrets.js';
import { openHeaders, type StoredHeaders } from '../src/delivery/sealed-headers.js';
import { signPayload } from '../src/delivery/signing.js';
import { honoursRetryAfter, judgeAttempt } from '../src/domain/delivery-outcome.js';
import {
  isOperationalEventType,
  type EmittedEventType,
  type OperationalEventType,
} from '../src/domain/event-types.js';
import { isCommissionEventType, postbackInputFromEvent } from '../src/domain/postback/from-event.js';
import { resolvePostbackConfig, type PostbackSettings } from '../src/domain/postback/presets.js';
import { buildPostbackRequest, type PostbackRequest } from '../src/domain/postback/request.js';
import { judgePostbackResponse, type PostbackVerdict } from '../src/domain/postback/success.js';
import { emitInternalEvent } from '../src/ingest/internal-event.js';
import { nextDelayMs, parseRetryAfter, type ResolvedRetryPolicy } from '../src/domain/retry-policy.js';
import { RESERVED_HEADERS, webhookBody } from '../src/domain/webhook-payload.js';
import { deliveryAttemptFailedSignal } from '../workflows/definitions.js';

export interface DeliverInput {
  deliveryId: string;
  /** The attempt count when the current schedule began (0, or the count at the last redrive). */
  driveBase: number;
}

/** What a failed attempt reports in its failure details, for the workflow to show and wait out. */
export interface AttemptFailure {
  attempt: number;
  nextAttemptAt: string;
  error: string;
  statusCode: number | null;
  errorClass: string | null;
}

export interface DeliverOutcome {
  status: Extract<DeliveryStatus, 'succeeded' | 'failed' | 'cancelled'>;
  attempt: number;
  statusCode: number | null;
  error: string | null;
}

export interface DeliveryHealth {
  /** An endpoint whose attempts have only failed for this long is disabled. */
  disableAfterMs: number;
  /** `delivery.failing` is emitted after this many failed attempts of one delivery. */
  failingAfterAttempts: number;
}

export interface DeliverDeps {
  pool: Pool;
  cipher: SecretCipher;
  http: HttpSender;
  client?: Client | undefined;
  logger?: Logger | undefined;
  /** Where operational events' workflows start; without it none are emitted. */
  taskQueue?: string | undefined;
  health?: DeliveryHealth | undefined;
  random?: () => number;
  now?: () => Date;
}

/** Waits for a rate-limit slot longer than this are handed back to Temporal as a retry delay. */
export const MAX_SLOT_WAIT_MS = 30_000;

interface DeliveryContext {
  status: DeliveryStatus;
  /** Set when a rejection or reversal overtook this (conversion) delivery and cancelled it. */
  replaced_by_event_id: string | null;
  operator_id: string;
  attempt_count: number;
  redrive_count: number;
  rate_limit_per_second: number | null;
  event_type: string;
  retry_policy: ResolvedRetryPolicy;
  workflow_id: string;
  endpoint_id: string;
  format: 'webhook' | 'postback';
  postback: PostbackSettings | null;
  url: string;
  headers: StoredHeaders;
  timeout_ms: number;
  enabled: boolean;
  deleted_at: Date | null;
  secret_sealed: string;
  previous_secrets: PreviousSecret[];
  event_id: string;
  event_kind: string;
  occurred_at: Date;
  payload: {
    brand?: string;
    customerId?: string;
    data: Record<string, unknown>;
    attribution?: Record<string, unknown>;
  };
  facts: { effectiveAttribution: Record<string, unknown> | null } | null;
}

/**
 * One attempt of one delivery: for a webhook endpoint sign and POST the JSON body, for a postback endpoint
 * render and send its postback; then log the attempt, and decide.
 *
 * Terminal outcomes (success, 410, the policy exhausted, the endpoint gone, a postback the tracker refused
 * with a 4xx) return as data. A failed attempt with attempts left throws a retryable failure carrying
 * `nextRetryDelay` (the schedule's next wait, or the clamped `Retry-After`), so Temporal itself waits and
 * retries: the pending activity in the Web UI shows the attempt, the last failure and the next attempt
 * time, and waiting costs a server timer.
 */
export async function deliverWebhook(deps: DeliverDeps, input: DeliverInput): Promise<DeliverOutcome> {
  const now = deps.now ?? (() => new Date());
  const { rows } = await deps.pool.query<DeliveryContext>(
    `SELECT d.status, d.replaced_by_event_id, d.operator_id, d.attempt_count, d.redrive_count, d.event_type, d.retry_policy,
            d.workflow_id, d.endpoint_id, e.rate_limit_per_second, e.format, e.postback,
            e.url, e.headers, e.timeout_ms, e.enabled, e.deleted_at, e.secret_sealed, e.previous_secrets,
            v.event_id, v.type AS event_kind, v.occurred_at, v.payload, v.facts
       FROM deliveries d
       JOIN endpoints e ON e.id = d.endpoint_id
       JOIN events v ON v.operator_id = d.operator_id AND v.event_id = d.event_id
      WHERE d.id = $1`,
    [input.deliveryId],
  );
  const ctx = rows[0];
  if (!ctx) {
    throw ApplicationFailure.nonRetryable(
      `delivery ${input.deliveryId} does not exist`,
      'DeliveryNotFoundError',
    );
  }
  // Numbered from the log, not from Temporal's attempt counter: a new activity (retry now, redrive) or a
  // rate-limit pause must neither repeat nor skip a number.
  const attempt = ctx.attempt_count + 1;
  if (ctx.status === 'succeeded' || ctx.status === 'failed' || ctx.status === 'cancelled') {
    // A retry after the overtaken conversion got through: make sure its reversal follows (idempotent).
    if (ctx.status === 'succeeded' && ctx.replaced_by_event_id)
      await sendOvertakenReversal(deps, ctx, ctx.replaced_by_event_id);
    return { status: ctx.status, attempt: attempt - 1, statusCode: null, error: null };
  }
  if (!ctx.enabled || ctx.deleted_at) {
    // A disabled endpoint receives nothing new, retries included.
    const reason = ctx.deleted_at ? 'endpoint deleted' : 'endpoint disabled';
    await finishDelivery(deps.pool, input.deliveryId, 'cancelled', reason);
    return { status: 'cancelled', attempt: attempt - 1, statusCode: null, error: reason };
  }

  let postback: PreparedPostback | null = null;
  if (ctx.format === 'postback') {
    const prepared = await preparePostback(deps.pool, ctx);
    if (typeof prepared === 'string') {
      await finishDelivery(deps.pool, input.deliveryId, 'cancelled', prepared);
      return { status: 'cancelled', attempt: attempt - 1, statusCode: null, error: prepared };
    }
    postback = prepared;
  }

  if (ctx.rate_limit_per_second) {
    const waitMs = await reserveSendSlot(deps.pool, ctx.endpoint_id, ctx.rate_limit_per_second);
    if (waitMs > MAX_SLOT_WAIT_MS) {
      throw ApplicationFailure.create({
        type: 'RateLimited',
        message: `endpoint rate limit (${ctx.rate_limit_per_second}/s): next slot in ${waitMs} ms`,
        nextRetryDelay: waitMs,
      });
    }
    if (waitMs > 0) await sleep(waitMs);
  }

  const startedAt = now();
  const custom = Object.fromEntries(
    Object.entries(openHeaders(deps.cipher, ctx.endpoint_id, ctx.headers)).filter(
      ([name]) => !RESERVED_HEADERS.has(name.toLowerCase()),
    ),
  );
  let result: HttpOutcome;
  let verdict: PostbackVerdict;
  let note: string | null = null;
  if (postback) {
    const { request, successMatch } = postback;
    // No Standard Webhooks headers: a tracker authenticates a postback by what its URL carries.
    const headers = {
      'user-agent': 'affiliate-hooks/1',
      ...custom,
      ...(request.contentType ? { 'content-type': request.contentType } : {}),
    };
    result = await deps.http.send(request.method, request.url, headers, request.body, ctx.timeout_ms);
    verdict = result.errorClass
      ? 'retry'
      : judgePostbackResponse(result.statusCode, result.body, successMatch);
    if (request.missing.length) {
      note = `sent empty for want of a value: ${request.missing.map((name) => `{${name}}`).join(', ')}`;
    }
  } else {
    const body = JSON.stringify(
      webhookBody(ctx.event_type, {
        eventId: ctx.event_id,
        type: ctx.event_kind,
        occurredAt: ctx.occurred_at.toISOString(),
        brand: ctx.payload.brand ?? null,
        customerId: (ctx.payload as { customerId?: string }).customerId ?? '',
        attribution: ctx.facts?.effectiveAttribution ?? ctx.payload.attribution ?? null,
        data: ctx.payload.data,
      }),
    );
    const secrets = [
      deps.cipher.decrypt(ctx.secret_sealed, ctx.endpoint_id),
      ...ctx.previous_secrets
        .filter((s) => new Date(s.expiresAt) > startedAt)
        .map((s) => deps.cipher.decrypt(s.sealed, ctx.endpoint_id)),
    ];
    const headers = {
      'user-agent': 'affiliate-hooks/1',
      ...custom,
      'content-type': 'application/json',
      ...signPayload({ msgId: input.deliveryId, timestamp: startedAt, body, secrets }),
    };
    result = await deps.http.post(ctx.url, headers, body, ctx.timeout_ms);
    verdict = result.errorClass ? 'retry' : judgeAttempt(result.statusCode);
  }

  const { error, errorClass } = attemptError(result, verdict);
  const attemptLog = {
    number: attempt,
    startedAt,
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    // Macros sent empty are noted in the log without failing the attempt.
    errorClass: errorClass ?? (note ? 'note' : null),
    errorMessage: note ? (error ? `${error}; ${note}` : note) : error,
    responseBody: result.body,
  };

  deps.logger?.debug(
    {
      deliveryId: input.deliveryId,
      endpointId: ctx.endpoint_id,
      eventId: ctx.event_id,
      attempt,
      statusCode: result.statusCode,
      errorClass,
      durationMs: result.durationMs,
    },
    'delivery attempt',
  );
  const record = (status: DeliveryStatus, nextAttemptAt: Date | null) =>
    recordAttempt(deps.pool, input.deliveryId, ctx.endpoint_id, { ...attemptLog, status, nextAttemptAt });
  const ops = operationalEvents(deps, ctx, input.deliveryId);
  const scheduleAttempt = attempt - input.driveBase;

  if (verdict === 'success') {
    const recorded = await record('succeeded', null);
    if (recorded.status === 'succeeded' && recorded.replacedByEventId)
      await sendOvertakenReversal(deps, ctx, recorded.replacedByEventId);
    if (scheduleAttempt > (deps.health?.failingAfterAttempts ?? Infinity)) {
      await ops.emit('delivery.recovered', `${ctx.redrive_count}`, { attempt });
    }
    return { status: 'succeeded', attempt, statusCode: result.statusCode, error: null };
  }
  if (verdict === 'gone') {
    await record('failed', null);
    if (await disableEndpoint(deps.pool, ctx.endpoint_id, 'gone')) {
      deps.logger?.warn(
        { deliveryId: input.deliveryId, endpointId: ctx.endpoint_id },
        'endpoint answered 410: disabled',
      );
      await ops.emit('endpoint.disabled', 'gone', { reason: 'gone' });
    }
    return { status: 'failed', attempt, statusCode: 410, error: 'HTTP 410 Gone: endpoint disabled' };
  }
  if (verdict === 'rejected') {
    // A postback the tracker refused (a 4xx): the same request cannot succeed, so it fails now.
    await record('failed', null);
    await ops.emit('delivery.exhausted', `${ctx.redrive_count}`, { attempt, lastError: error });
    return { status: 'failed', attempt, statusCode: result.statusCode, error };
  }

  const retryAfterMs = honoursRetryAfter(result.statusCode)
    ? parseRetryAfter(result.retryAfter, startedAt)
    : null;
  const random = deps.random ?? Math.random;
  const delay = nextDelayMs(ctx.retry_policy, scheduleAttempt, random(), retryAfterMs);
  const nextAttemptAt = delay === null ? null : new Date(startedAt.getTime() + result.durationMs + delay);
  const { failingSince } = await record(delay === null ? 'failed' : 'retrying', nextAttemptAt);
  if (
    failingSince &&
    deps.health &&
    startedAt.getTime() - failingSince.getTime() >= deps.health.disableAfterMs
  ) {
    // Only failures for the whole period: the endpoint is disabled, its pending retries end cancelled.
    if (await disableEndpoint(deps.pool, ctx.endpoint_id, 'failing')) {
      await ops.emit('endpoint.disabled', 'failing', {
        reason: 'failing',
        failingSince: failingSince.toISOString(),
      });
    }
  }
  if (delay === null || nextAttemptAt === null) {
    await ops.emit('delivery.exhausted', `${ctx.redrive_count}`, { attempt, lastError: error });
    return { status: 'failed', attempt, statusCode: result.statusCode, error };
  }
  if (scheduleAttempt === deps.health?.failingAfterAttempts) {
    await ops.emit('delivery.failing', `${ctx.redrive_count}`, { attempt, lastError: error, nextAttemptAt });
  }
  if (deps.client && !activityInfo().isLocal) {
    // Lets the workflow show the wait in its search attributes (a local attempt's failure reaches the
    // workflow directly); losing this signal loses only visibility.
    await deps.client.workflow
      .getHandle(ctx.workflow_id)
      .signal(deliveryAttemptFailedSignal, {
        deliveryId: input.deliveryId,
        attempt,
        nextAttemptAt: nextAttemptAt.toISOString(),
        error: error ?? 'failed',
      })
      .catch((err: Error) =>
        deps.logger?.warn({ deliveryId: input.deliveryId, err: err.message }, 'attempt signal failed'),
      );
  }
  throw ApplicationFailure.create({
    type: 'DeliveryAttemptFailed',
    message: `attempt ${attempt}: ${error}`,
    nextRetryDelay: delay,
    details: [
      {
        attempt,
        nextAttemptAt: nextAttemptAt.toISOString(),
        error: error ?? 'failed',
        statusCode: result.statusCode,
        errorClass,
      } satisfies AttemptFailure,
    ],
  });
}

/**
 * Operational events about this delivery, sent to the operator's endpoints that subscribe to them. Never
 * for deliveries of operational events themselves (a failing endpoint would otherwise feed itself), and
 * best effort: the event row is durable and the reconciler starts it if Temporal was away.
 */
function operationalEvents(deps: DeliverDeps, ctx: DeliveryContext, deliveryId: string) {
  return {
    async emit(type: OperationalEventType, discriminator: string, extra: Record<string, unknown>) {
      if (!deps.client || !deps.taskQueue || isOperationalEventType(ctx.event_type)) return;
      // Each one is a workflow: none unless an endpoint of the operator listens for this type.
      if (!(await findSubscribedEndpoints(deps.pool, ctx.operator_id, type, null)).length) return;
      const subject = type === 'endpoint.disabled' ? ctx.endpoint_id : deliveryId;
      try {
        await emitInternalEvent(
          { pool: deps.pool, client: deps.client, taskQueue: deps.taskQueue, startTimeoutMs: 5_000 },
          {
            operatorId: ctx.operator_id,
            key: `${type}~${subject}~${type === 'endpoint.disabled' ? Date.now() : discriminator}`,
            type,
            data: {
              endpointId: ctx.endpoint_id,
              ...(type === 'endpoint.disabled'
                ? {}
                : { deliveryId, eventId: ctx.event_id, eventType: ctx.event_type }),
              ...extra,
            },
          },
        );
      } catch (err) {
        deps.logger?.warn({ deliveryId, type, err: (err as Error).message }, 'operational event not emitted');
      }
    },
  };
}

/**
 * A rejection or reversal cancelled this conversion delivery while its attempt was on the wire, and the
 * attempt got through: the endpoint has seen the conversion, so it must see the reversal too. It gets the
 * overtaking notification as an event of its own, for this endpoint only, with the same data. Idempotent
 * (a fixed id), so a retried activity sends it once.
 */
async function sendOvertakenReversal(deps: DeliverDeps, ctx: DeliveryContext, reversalEventId: string) {
  if (!deps.client || !deps.taskQueue) return; // the settlement's own dispatch has no such endpoint
  const { rows } = await deps.pool.query<{
    type: EmittedEventType;
    customer_id: string;
    payload: { data: Record<string, unknown>; attribution?: Record<string, unknown> };
    commission_entry_id: string | null;
  }>(
    'SELECT type, customer_id, payload, commission_entry_id FROM events WHERE operator_id = $1 AND event_id = $2',
    [ctx.operator_id, reversalEventId],
  );
  const reversal = rows[0];
  const endpoint = await findEndpoint(deps.pool, ctx.operator_id, ctx.endpoint_id);
  if (!reversal || !endpoint) return;
  await emitInternalEvent(
    { pool: deps.pool, client: deps.client, taskQueue: deps.taskQueue, startTimeoutMs: 10_000 },
    {
      operatorId: ctx.operator_id,
      key: `${reversalEventId.replace(/^sys~/, '')}~${ctx.endpoint_id}`,
      type: reversal.type,
      data: reversal.payload.data,
      onlyEndpoint: endpoint,
      customerId: reversal.customer_id,
      attribution: reversal.payload.attribution ?? null,
      commissionEntryId: reversal.commission_entry_id,
    },
  );
}

/** What the attempt log says went wrong, or nulls for a success. */
function attemptError(
  result: HttpOutcome,
  verdict: PostbackVerdict,
): { error: string | null; errorClass: string | null } {
  if (result.errorClass) return { error: result.errorMessage, errorClass: result.errorClass };
  if (verdict === 'success') return { error: null, errorClass: null };
  const status = `HTTP ${result.statusCode}`;
  if (verdict === 'retry' && result.statusCode !== null && result.statusCode < 300) {
    // Only a postback's successMatch makes a 2xx fail.
    return {
      error: `${status}: the response body does not match successMatch`,
      errorClass: 'success_mismatch',
    };
  }
  if (verdict === 'gone') return { error: `${status} Gone`, errorClass: 'http_status' };
  if (verdict === 'rejected') {
    return { error: `${status}: refused by the tracker, not retried`, errorClass: 'http_status' };
  }
  return { error: status, errorClass: 'http_status' };
}

interface PreparedPostback {
  request: PostbackRequest;
  successMatch: string | null;
}

/**
 * Renders a postback endpoint's request from the stored event, the same on every attempt and redrive. A
 * string back is why the delivery is not sent at all: a first deposit reaches a postback endpoint once, as
 * `deposit.ftd`, so the tracker never counts one deposit as two conversions.
 */
async function preparePostback(pool: Pool, ctx: DeliveryContext): Promise<PreparedPostback | string> {
  const resolved = resolvePostbackConfig(ctx.url, ctx.postback ?? {});
  if (!resolved.ok) {
    // Settings are validated when saved; these were saved by another version, or by hand.
    throw ApplicationFailure.nonRetryable(
      `the endpoint's postback settings are not valid: ${resolved.errors.join('; ')}`,
      'PostbackConfigError',
    );
  }
  const data = ctx.payload.data ?? {};
  const conversionEventId =
    isCommissionEventType(ctx.event_type) && typeof data.conversionEventId === 'string'
      ? data.conversionEventId
      : null;
  const { rows } = await pool.query<{
    country: string | null;
    conversion_type: string | null;
    conversion_ftd: boolean;
    ftd_delivery_id: string | null;
  }>(
    `SELECT (SELECT country FROM customers WHERE operator_id = $1 AND customer_id = $2) AS country,
            cv.type AS conversion_type, coalesce((cv.facts->>'ftd')::boolean, false) AS conversion_ftd,
            (SELECT id FROM deliveries
              WHERE $6::text = 'deposit.completed' AND operator_id = $1 AND event_id = $4 AND endpoint_id = $5
                AND event_type = 'deposit.ftd') AS ftd_delivery_id
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN events cv ON cv.operator_id = $1 AND cv.event_id = $3::text`,
    [
      ctx.operator_id,
      ctx.payload.customerId ?? '',
      conversionEventId,
      ctx.event_id,
      ctx.endpoint_id,
      ctx.event_type,
    ],
  );
  const found = rows[0];
  if (found?.ftd_delivery_id) {
    return `sent once, as deposit.ftd (${found.ftd_delivery_id}), with the same transaction id`;
  }
  const request = buildPostbackRequest(
    resolved.config,
    postbackInputFromEvent({
      eventId: ctx.event_id,
      deliveredType: ctx.event_type,
      occurredAt: ctx.occurred_at.toISOString(),
      customerId: ctx.payload.customerId ?? null,
      attribution: ctx.facts?.effectiveAttribution ?? ctx.payload.attribution ?? null,
      data,
      customerCountry: found?.country ?? null,
      conversion: found?.conversion_type ? { type: found.conversion_type, ftd: found.conversion_ftd } : null,
    }),
  );
  return { request, successMatch: resolved.config.successMatch };
}
