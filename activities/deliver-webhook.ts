import { setTimeout as sleep } from 'node:timers/promises';
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { finishDelivery, recordAttempt, type DeliveryStatus } from '../src/db/deliveries.js';
import { disableEndpoint, findSubscribedEndpoints, type PreviousSecret } from '../src/db/endpoints.js';
import { reserveSendSlot } from '../src/db/rate-limit.js';
import type { Pool } from '../src/db/pool.js';
import type { HttpSender } from '../src/delivery/http.js';
import type { SecretCipher } from '../src/delivery/secrets.js';
import { signPayload } from '../src/delivery/signing.js';
import { honoursRetryAfter, judgeAttempt } from '../src/domain/delivery-outcome.js';
import { isOperationalEventType, type OperationalEventType } from '../src/domain/event-types.js';
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
  operator_id: string;
  attempt_count: number;
  redrive_count: number;
  rate_limit_per_second: number | null;
  event_type: string;
  retry_policy: ResolvedRetryPolicy;
  workflow_id: string;
  endpoint_id: string;
  url: string;
  headers: Record<string, string>;
  timeout_ms: number;
  enabled: boolean;
  deleted_at: Date | null;
  secret_sealed: string;
  previous_secrets: PreviousSecret[];
  event_id: string;
  event_kind: string;
  occurred_at: Date;
  payload: { brand?: string; data: Record<string, unknown>; attribution?: Record<string, unknown> };
  facts: { effectiveAttribution: Record<string, unknown> | null } | null;
}

/**
 * One attempt of one webhook delivery: sign, POST, log the attempt, and decide.
 *
 * Terminal outcomes (success, 410, the policy exhausted, the endpoint gone) return as data. A failed
 * attempt with attempts left throws a retryable failure carrying `nextRetryDelay` (the schedule's next
 * wait, or the clamped `Retry-After`), so Temporal itself waits and retries: the pending activity in the
 * Web UI shows the attempt, the last failure and the next attempt time, and waiting costs a server timer.
 */
export async function deliverWebhook(deps: DeliverDeps, input: DeliverInput): Promise<DeliverOutcome> {
  const now = deps.now ?? (() => new Date());
  const { rows } = await deps.pool.query<DeliveryContext>(
    `SELECT d.status, d.operator_id, d.attempt_count, d.redrive_count, d.event_type, d.retry_policy,
            d.workflow_id, d.endpoint_id, e.rate_limit_per_second,
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
    return { status: ctx.status, attempt: attempt - 1, statusCode: null, error: null };
  }
  if (!ctx.enabled || ctx.deleted_at) {
    // A disabled endpoint receives nothing new, retries included.
    const reason = ctx.deleted_at ? 'endpoint deleted' : 'endpoint disabled';
    await finishDelivery(deps.pool, input.deliveryId, 'cancelled', reason);
    return { status: 'cancelled', attempt: attempt - 1, statusCode: null, error: reason };
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
  const custom = Object.fromEntries(
    Object.entries(ctx.headers).filter(([name]) => !RESERVED_HEADERS.has(name.toLowerCase())),
  );
  const headers = {
    'user-agent': 'affiliate-hooks/1',
    ...custom,
    'content-type': 'application/json',
    ...signPayload({ msgId: input.deliveryId, timestamp: startedAt, body, secrets }),
  };
  const result = await deps.http.post(ctx.url, headers, body, ctx.timeout_ms);

  const verdict = result.errorClass ? 'retry' : judgeAttempt(result.statusCode);
  const error =
    result.errorMessage ??
    (verdict === 'success' ? null : `HTTP ${result.statusCode}${verdict === 'gone' ? ' Gone' : ''}`);
  const errorClass = result.errorClass ?? (verdict === 'success' ? null : 'http_status');
  const attemptLog = {
    number: attempt,
    startedAt,
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    errorClass,
    errorMessage: error,
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
    await record('succeeded', null);
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
