import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import { claimAttempt, releaseClaim } from '../../src/db/delivery-claim.js';
import { finishDelivery } from '../../src/db/deliveries.js';
import { ACTIVITY_FAILURES } from '../../src/domain/activity-failures.js';
import { CANCEL_REASONS } from '../../src/domain/cancel-reasons.js';
import { maxAttempts } from '../../src/domain/retry-policy.js';
import { attemptContext } from './attempt-context.js';
import { waitForBreaker } from './breaker.js';
import { followUp, sendOvertakenReversal } from './follow-ups.js';
import { judge } from './judge.js';
import { preparePostback } from './prepare-postback.js';
import { prepareWebhook } from './prepare-webhook.js';
import type { PreparedRequest } from './prepared.js';
import { attemptDuration } from '../../src/metrics.js';
import { countAttempt, recordWithRetry } from './record.js';
import { recordingSender } from '../../src/delivery/sent-request.js';
import { SLOT_SLEEP_MAX_MS, takeSendSlot } from './slot.js';
import {
  subjectOf,
  type DeliverDeps,
  type DeliverInput,
  type DeliverOutcome,
  type DeliverResult,
  type DeliveryContext,
} from './types.js';

/**
 * One attempt of one delivery (registered as `deliverWebhook`; it sends postbacks too), in stages:
 * load (and mark the attempt in flight, unless the endpoint's open breaker holds it: then it waits) ->
 * prepare (webhook or postback) -> take the send slot -> send -> judge -> record -> follow-ups.
 *
 * Before the send, a fault throws and Temporal retries. From the send on, nothing throws a retryable
 * error that would send again: the outcome is judged and logged as data. A failed attempt with attempts
 * left throws `DeliveryAttemptFailed` with `nextRetryDelay` only once it is logged, so Temporal waits the
 * schedule and starts the next attempt. An attempt that could not be logged returns `unrecorded`, and the
 * workflow logs it.
 */
export async function deliver(deps: DeliverDeps, input: DeliverInput): Promise<DeliverResult> {
  // Heartbeats from the start: a claim stuck on PostgreSQL must not outlive the heartbeat timeout silently.
  const running = attemptContext(deps, input.deliveryId);
  try {
    const ctx = await claimAttempt(deps.pool, input.deliveryId, SLOT_SLEEP_MAX_MS);
    if (!ctx) {
      throw ApplicationFailure.nonRetryable(
        `delivery ${input.deliveryId} does not exist`,
        ACTIVITY_FAILURES.deliveryNotFound,
      );
    }
    if (ctx.lost_attempt !== null) {
      deps.logger?.warn(
        { deliveryId: input.deliveryId, attempt: ctx.lost_attempt },
        'attempt lost with its worker',
      );
    }
    // Deliveries a stopped worker left waiting for a breaker that closed: woken now, in the background.
    if (ctx.breaker_sweep_due) deps.ports?.wakeBreakerWaits(ctx.endpoint_id, 'closed');
    const early = await endWithoutSending(deps, ctx, input);
    if (early) return early;
    if (ctx.breaker_held) return await waitForBreaker(deps, ctx, input.deliveryId, input.driveBase);
    const prepared = await beforeTheSend(deps, ctx, input.deliveryId);
    if (typeof prepared === 'string') {
      await finishDelivery(deps.pool, input.deliveryId, 'cancelled', prepared);
      return { status: 'cancelled', attempt: ctx.attempt_count, statusCode: null, error: prepared };
    }
    return await sendAndRecord(deps, ctx, input, prepared, running.signal);
  } finally {
    running.stop();
  }
}

/**
 * Prepares the request and takes the send slot. A fault here (PostgreSQL, a secret that does not decrypt)
 * throws for Temporal to retry, after dropping the in-flight mark: nothing was sent, so it must not be
 * logged as a lost attempt. A `RateLimited` wait has dropped it already.
 */
async function beforeTheSend(
  deps: DeliverDeps,
  ctx: DeliveryContext,
  deliveryId: string,
): Promise<PreparedRequest | string> {
  try {
    const prepared =
      ctx.format === 'postback'
        ? await preparePostback(deps.pool, deps.cipher, ctx, deps.ports)
        : prepareWebhook(deps.cipher, ctx, deliveryId, (deps.now ?? (() => new Date()))());
    if (typeof prepared !== 'string') await takeSendSlot(deps, ctx, deliveryId);
    return prepared;
  } catch (err) {
    if (!(err instanceof ApplicationFailure && err.type === ACTIVITY_FAILURES.rateLimited))
      await releaseClaim(deps.pool, deliveryId).catch(() => {});
    throw err;
  }
}

/** The delivery needs no attempt: finished, its endpoint gone, or its schedule spent by lost attempts. */
async function endWithoutSending(
  deps: DeliverDeps,
  ctx: DeliveryContext,
  input: DeliverInput,
): Promise<DeliverOutcome | null> {
  const ended = (status: DeliverOutcome['status'], error: string | null): DeliverOutcome => ({
    status,
    attempt: ctx.attempt_count,
    statusCode: null,
    error,
  });
  if (ctx.status === 'succeeded' || ctx.status === 'failed' || ctx.status === 'cancelled') {
    // A retry after the overtaken conversion got through: make sure its reversal follows (idempotent).
    if (ctx.status === 'succeeded' && ctx.replaced_by_event_id)
      await sendOvertakenReversal(
        deps,
        subjectOf(ctx, input.deliveryId, input.driveBase),
        ctx.replaced_by_event_id,
      );
    return ended(ctx.status, null);
  }
  if (!ctx.enabled || ctx.deleted_at) {
    // A disabled endpoint receives nothing new, retries included.
    const reason = ctx.deleted_at ? CANCEL_REASONS.endpointDeleted : CANCEL_REASONS.endpointDisabled;
    await finishDelivery(deps.pool, input.deliveryId, 'cancelled', reason);
    return ended('cancelled', reason);
  }
  if (ctx.attempt_count - input.driveBase >= maxAttempts(ctx.retry_policy)) {
    // Only lost attempts (workers that died while sending) get here: each counts against the policy.
    const reason = 'retry policy spent: the last attempt ended without an outcome';
    await finishDelivery(deps.pool, input.deliveryId, 'failed', reason);
    return ended('failed', reason);
  }
  return null;
}

/** Sends the attempt marked in flight, then judges, logs and follows it up: from here, outcomes are data. */
async function sendAndRecord(
  deps: DeliverDeps,
  ctx: DeliveryContext,
  input: DeliverInput,
  prepared: PreparedRequest,
  signal: AbortSignal,
): Promise<DeliverResult> {
  const subject = subjectOf(ctx, input.deliveryId, input.driveBase);
  const startedAt = (deps.now ?? (() => new Date()))();
  const http = recordingSender(deps.http);
  const outcome = await prepared.send(http.sender, startedAt, signal);
  attemptDuration.observe({ format: ctx.format }, outcome.durationMs / 1000);
  const decision = judge(
    {
      number: ctx.in_flight_attempt!,
      scheduleAttempt: subject.scheduleAttempt,
      policy: ctx.retry_policy,
      note: prepared.note,
      startedAt,
      random: (deps.random ?? Math.random)(),
    },
    outcome,
    prepared.judge,
  );
  deps.logger?.debug(
    {
      deliveryId: input.deliveryId,
      endpointId: ctx.endpoint_id,
      eventId: ctx.event_id,
      attempt: decision.line.number,
      statusCode: outcome.statusCode,
      errorClass: outcome.errorClass,
      cause: outcome.internalCause,
      durationMs: outcome.durationMs,
    },
    'delivery attempt',
  );
  const recorded = await recordWithRetry(deps, subject, decision, http.sent());
  if (!recorded) return { status: 'unrecorded', subject, decision };
  countAttempt(recorded.status, decision.statusCode);
  const settled = await followUp(deps, subject, decision, recorded, {
    signalWorkflow: !isLocalActivity(),
    previousStatus: ctx.status,
  });
  if (settled.status !== 'retrying') return settled;
  const { status: _status, delayMs, ...failure } = settled;
  throw ApplicationFailure.create({
    type: ACTIVITY_FAILURES.deliveryAttemptFailed,
    message: `attempt ${failure.attempt}: ${failure.error}`,
    nextRetryDelay: delayMs,
    details: [failure],
  });
}

function isLocalActivity(): boolean {
  try {
    return activityInfo().isLocal;
  } catch {
    return true;
  }
}
