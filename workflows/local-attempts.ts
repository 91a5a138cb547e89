/**
 * The event workflow's local activities: a delivery attempt made in the worker's process (a first attempt,
 * or a retry due within seconds) and the record-only bookkeeping. Workflow code: deterministic, no I/O.
 */
import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities, DeliverResult } from '../activities/index.js';
import type { Tracked } from './tracked-delivery.js';
import { endSummary } from './wait-summaries.js';

/** The record-only local activities, named in the Web UI by what they write about which delivery. */
export function bookkeeping(summary: string) {
  return proxyLocalActivities<Activities>({
    startToCloseTimeout: '10s',
    summary: `${summary} (retried until PostgreSQL answers)`,
    // PostgreSQL being away is a wait, never a loss: keep trying, backing off to a minute.
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
  });
}

/**
 * Starts one attempt of `d` as a local activity in a scope of its own (its `scope`, which cancel and
 * hand-off use), marking it local. The command is pushed before this returns, so awaiting the promise
 * is the only asynchronous step: callers keep the order of commands recorded histories expect.
 */
export function startLocalAttempt(d: Tracked, summary: string): Promise<DeliverResult> {
  const scope = new CancellationScope();
  d.scope = scope;
  const { deliverWebhook: deliverLocally } = proxyLocalActivities<Activities>({
    startToCloseTimeout: d.timeoutMs + 15_000,
    summary,
    retry: { maximumAttempts: 1 },
  });
  d.local = true;
  return scope.run(() => deliverLocally({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
}

/** Ends a cancelled delivery: logged in PostgreSQL (never interrupted itself), then in the run's view. */
export async function endCancelled(d: Tracked): Promise<void> {
  await CancellationScope.nonCancellable(() =>
    bookkeeping(endSummary(d, 'cancelled')).finishDelivery({
      deliveryId: d.deliveryId,
      status: 'cancelled',
      reason: d.cancelReason ?? 'cancelled',
    }),
  );
  d.status = 'cancelled';
  d.nextAttemptAt = null;
  d.lastError = d.cancelReason;
}
