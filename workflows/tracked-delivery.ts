/**
 * A delivery as the event workflow tracks it, and the pure helpers over it. Workflow code: deterministic,
 * no I/O.
 */
import { ActivityFailure, ApplicationFailure, type CancellationScope } from '@temporalio/workflow';
import type { AttemptFailure, DeliverOutcome, DeliveryPlan } from '../activities/index.js';
import type { ResolvedRetryPolicy } from '../src/domain/retry-policy.js';
import type { DeliveryView } from './definitions.js';

export interface Tracked extends DeliveryView {
  endpointHost: string;
  rateLimitPerSecond: number | null;
  policy: ResolvedRetryPolicy;
  timeoutMs: number;
  /** Attempt count when the current schedule began (0, or the count at the last redrive). */
  driveBase: number;
  active: boolean;
  scope: CancellationScope | null;
  interrupt: 'retry' | 'cancel' | null;
  cancelReason: string | null;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function settle(d: Tracked, outcome: DeliverOutcome) {
  d.status = outcome.status;
  d.attemptCount = Math.max(d.attemptCount, outcome.attempt);
  d.lastError = outcome.error;
  d.nextAttemptAt = null;
}

/** The attempt a failed delivery activity reports in its failure details, if that is what failed. */
export function attemptFailure(err: unknown): AttemptFailure | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || cause.type !== 'DeliveryAttemptFailed') return null;
  const details = cause.details?.[0] as AttemptFailure | undefined;
  return details && typeof details.attempt === 'number' && details.nextAttemptAt ? details : null;
}

export function track(plan: DeliveryPlan): Tracked {
  return {
    deliveryId: plan.deliveryId,
    endpointId: plan.endpointId,
    eventType: plan.eventType,
    status: plan.status,
    attemptCount: plan.attemptCount,
    nextAttemptAt: null,
    lastError: null,
    endpointHost: plan.endpointHost,
    rateLimitPerSecond: plan.rateLimitPerSecond,
    policy: plan.policy,
    timeoutMs: plan.timeoutMs,
    driveBase: plan.attemptCount,
    active: false,
    scope: null,
    interrupt: null,
    cancelReason: null,
  };
}

export function view(d: Tracked): DeliveryView {
  return {
    deliveryId: d.deliveryId,
    endpointId: d.endpointId,
    eventType: d.eventType,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt,
    lastError: d.lastError,
  };
}
