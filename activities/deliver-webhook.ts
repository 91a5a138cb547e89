import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { finishDelivery, recordAttempt, type DeliveryStatus } from '../src/db/deliveries.js';
import { disableEndpoint, type PreviousSecret } from '../src/db/endpoints.js';
import type { Pool } from '../src/db/pool.js';
import type { HttpSender } from '../src/delivery/http.js';
import type { SecretCipher } from '../src/delivery/secrets.js';
import { signPayload } from '../src/delivery/signing.js';
import { honoursRetryAfter, judgeAttempt } from '../src/domain/delivery-outcome.js';
import { nextDelayMs, parseRetryAfter, type ResolvedRetryPolicy } from '../src/domain/retry-policy.js';
import { webhookBody } from '../src/domain/webhook-payload.js';
import { deliveryAttemptFailedSignal } from '../workflows/definitions.js';

export interface DeliverInput {
  deliveryId: string;
  /** Attempts made before this activity started (earlier activities of the same delivery). */
  attemptOffset: number;
  /** The attempt count when the current schedule began (0, or the count at the last redrive). */
  driveBase: number;
}

export interface DeliverOutcome {
  status: Extract<DeliveryStatus, 'succeeded' | 'failed' | 'cancelled'>;
  attempt: number;
  statusCode: number | null;
  error: string | null;
}

export interface DeliverDeps {
  pool: Pool;
  cipher: SecretCipher;
  http: HttpSender;
  client?: Client | undefined;
  logger?: Logger | undefined;
  random?: () => number;
  now?: () => Date;
}

interface DeliveryContext {
  status: DeliveryStatus;
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

/** Headers a custom-header setting may not override: the signature and framing are ours. */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
]);

/**
 * One attempt of one webhook delivery: sign, POST, log the attempt, and decide.
 *
 * Terminal outcomes (success, 410, the policy exhausted, the endpoint gone) return as data. A failed
 * attempt with attempts left throws a retryable failure carrying `nextRetryDelay` (the schedule's next
 * wait, or the clamped `Retry-After`), so Temporal itself waits and retries: the pending activity in the
 * Web UI shows the attempt, the last failure and the next attempt time, and waiting costs a server timer.
 */
export async function deliverWebhook(deps: DeliverDeps, input: DeliverInput): Promise<DeliverOutcome> {
  const info = activityInfo();
  const attempt = input.attemptOffset + info.attempt;
  const now = deps.now ?? (() => new Date());
  const { rows } = await deps.pool.query<DeliveryContext>(
    `SELECT d.status, d.event_type, d.retry_policy, d.workflow_id, d.endpoint_id,
            e.url, e.headers, e.timeout_ms, e.enabled, e.deleted_at, e.secret_sealed, e.previous_secrets,
            v.event_id, v.type AS event_kind, v.occurred_at, v.payload, v.facts
       FROM deliveries d
       JOIN endpoints e ON e.id = d.endpoint_id
       JOIN events v ON v.operator_id = d.operator_id AND v.event_id = d.event_id
      WHERE d.id = $1`,
    [input.deliveryId],
  );
  const ctx = rows[0];
  if (!ctx)
    throw ApplicationFailure.nonRetryable(
      `delivery ${input.deliveryId} does not exist`,
      'DeliveryNotFoundError',
    );
  if (ctx.status === 'succeeded' || ctx.status === 'failed' || ctx.status === 'cancelled') {
    return { status: ctx.status, attempt: attempt - 1, statusCode: null, error: null };
  }
  if (!ctx.enabled || ctx.deleted_at) {
    // A disabled endpoint receives nothing new, retries included.
    const reason = ctx.deleted_at ? 'endpoint deleted' : 'endpoint disabled';
    await finishDelivery(deps.pool, input.deliveryId, 'cancelled', reason);
    return { status: 'cancelled', attempt: attempt - 1, statusCode: null, error: reason };
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

  if (verdict === 'success') {
    await recordAttempt(deps.pool, input.deliveryId, {
      ...attemptLog,
      status: 'succeeded',
      nextAttemptAt: null,
    });
    return { status: 'succeeded', attempt, statusCode: result.statusCode, error: null };
  }
  if (verdict === 'gone') {
    await recordAttempt(deps.pool, input.deliveryId, {
      ...attemptLog,
      status: 'failed',
      nextAttemptAt: null,
    });
    await disableEndpoint(deps.pool, ctx.endpoint_id, 'gone');
    deps.logger?.warn(
      { deliveryId: input.deliveryId, endpointId: ctx.endpoint_id },
      'endpoint answered 410: disabled',
    );
    return { status: 'failed', attempt, statusCode: 410, error: 'HTTP 410 Gone: endpoint disabled' };
  }

  const retryAfterMs = honoursRetryAfter(result.statusCode)
    ? parseRetryAfter(result.retryAfter, startedAt)
    : null;
  const random = deps.random ?? Math.random;
  const delay = nextDelayMs(ctx.retry_policy, attempt - input.driveBase, random(), retryAfterMs);
  if (delay === null) {
    await recordAttempt(deps.pool, input.deliveryId, {
      ...attemptLog,
      status: 'failed',
      nextAttemptAt: null,
    });
    return { status: 'failed', attempt, statusCode: result.statusCode, error };
  }
  const nextAttemptAt = new Date(startedAt.getTime() + result.durationMs + delay);
  await recordAttempt(deps.pool, input.deliveryId, { ...attemptLog, status: 'retrying', nextAttemptAt });
  if (deps.client) {
    // Lets the workflow show the wait in its search attributes; losing this signal loses only visibility.
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
    details: [{ statusCode: result.statusCode, errorClass }],
  });
}
