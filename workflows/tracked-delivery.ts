/**
 * A delivery as the event workflow tracks it, and the pure helpers over it. Workflow code: deterministic,
 * no I/O.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  type ActivityOptions,
  type CancellationScope,
} from '@temporalio/workflow';
import type { AttemptFailure, DeliverOutcome, DeliveryPlan } from '../activities/index.js';
import { ACTIVITY_FAILURES } from '../src/domain/activity-failures.js';
import { maxAttempts, type ResolvedRetryPolicy } from '../src/domain/retry-policy.js';
import type { DeliveryView } from './definitions.js';
import { deliveryActivitySummary, type FailureCause } from './wait-summaries.js';

export interface Tracked extends DeliveryView {
  endpointHost: string;
  rateLimitPerSecond: number | null;
  policy: ResolvedRetryPolicy;
  timeoutMs: number;
  /** Attempt count when the current schedule began (0, or the count at the last redrive). */
  driveBase: number;
  active: boolean;
  scope: CancellationScope | null;
  interrupt: 'retry' | 'cancel' | 'handoff' | null;
  cancelReason: string | null;
  /** Its first attempt is running as a local activity (a hand-off lets it finish rather than cancel it). */
  local: boolean;
  /** Handed over by the previous run: its first act is to wait out the carried nextAttemptAt. */
  resumed: boolean;
  /** Retry-now cut its wait short and no attempt has failed since: a hand-off passes it on as due at once. */
  dueNow: boolean;
  /** What its last failed attempt known to this run ran into, for the summary of the wait after it. */
  lastFailure: FailureCause | null;
  /** Failed once, with a short wait before its local retry: not published unless that retry fails too. */
  quiet: boolean;
  /**
   * A redrive or replay that came while its drive was still under way: the result that ended it in
   * PostgreSQL (where it was then reopened) had not reached this run. Carried out once the drive ends.
   */
  reopened?: { kind: 'redrive' } | { kind: 'replay'; plan: DeliveryPlan };
}

/**
 * Past this many history events a run hands its unfinished deliveries to a new run (continue-as-new):
 * far below Temporal's 51,200-event limit, and about where the server starts suggesting it.
 */
export const HISTORY_LIMIT = 10_000;

/** What a run hands the next for an unfinished delivery, so its schedule is neither restarted nor shortened. */
export interface HandedOver {
  deliveryId: string;
  /** The attempt count when its current schedule began: the attempt numbering and the policy go on from it. */
  driveBase: number;
  /** When its next attempt is due; null when it may go at once. */
  nextAttemptAt: string | null;
  /** What its last failed attempt ran into (absent from runs before it was carried). */
  lastFailure?: FailureCause | null;
}

export function handOver(d: Tracked): HandedOver {
  return {
    deliveryId: d.deliveryId,
    driveBase: d.driveBase,
    nextAttemptAt: d.dueNow ? null : d.nextAttemptAt,
    lastFailure: d.lastFailure,
  };
}

/**
 * Takes up what the previous run handed over for a delivery reloaded from PostgreSQL.
 *
 * @param stored the next attempt's time as PostgreSQL has it, or undefined to trust the hand-over alone (a
 *   run before the `delivery-signal-on-state-change` patch). The previous run hears of a delivery's first
 *   failure only, so the time it hands over may be an earlier attempt's: the later of the two is the one
 *   due. A retry-now during the hand-off (null handed over) still goes at once.
 */
export function resume(d: Tracked, handed: HandedOver | undefined, stored?: string | null) {
  if (!handed || TERMINAL.has(d.status)) return;
  d.driveBase = handed.driveBase;
  const later = handed.nextAttemptAt && stored && Date.parse(stored) > Date.parse(handed.nextAttemptAt);
  d.nextAttemptAt = later ? stored : handed.nextAttemptAt;
  d.resumed = true;
  d.lastFailure = handed.lastFailure ?? null;
  if (handed.nextAttemptAt) d.status = 'retrying';
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
  if (!(cause instanceof ApplicationFailure) || cause.type !== ACTIVITY_FAILURES.deliveryAttemptFailed)
    return null;
  const details = cause.details?.[0] as AttemptFailure | undefined;
  return details && typeof details.attempt === 'number' && details.nextAttemptAt ? details : null;
}

/** Temporal gave up on an activity whose last try only waited for the endpoint's breaker (sent nothing). */
export function breakerWaitsOnly(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : null;
  return cause instanceof ApplicationFailure && cause.type === ACTIVITY_FAILURES.breakerOpen;
}

/**
 * The deliveries a replay hands over that this run is to drive afresh: still pending in PostgreSQL, and
 * here unknown (made by the replay) or ended with no attempt since the replay read it (a retried signal
 * never sends one twice). Each is tracked anew, on a fresh schedule from its attempt count.
 */
export function replayed(byId: Map<string, Tracked>, plans: DeliveryPlan[]): Tracked[] {
  const fresh: Tracked[] = [];
  for (const plan of plans) {
    const d = byId.get(plan.deliveryId);
    if (plan.status !== 'pending') continue;
    if (d && (d.active || !TERMINAL.has(d.status) || d.attemptCount > plan.attemptCount)) continue;
    const t = track(plan);
    byId.set(t.deliveryId, t);
    fresh.push(t);
  }
  return fresh;
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
    local: false,
    resumed: false,
    dueNow: false,
    lastFailure: null,
    quiet: false,
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

/**
 * The options of one server-side delivery attempt (retried by Temporal until the schedule is spent).
 *
 * @param remaining the attempts the delivery's policy has left
 * @param waitCancelled whether a cancelled attempt is waited for (the `delivery-wait-for-cancelled-attempt` patch)
 */
export function deliveryActivityOptions(
  d: Tracked,
  remaining: number,
  waitCancelled: boolean,
): ActivityOptions {
  return {
    // One attempt: the endpoint's timeout plus room to read the body's first bytes and to log it. A
    // dead worker is noticed by the heartbeat timeout (the activity heartbeats past its first second).
    startToCloseTimeout: d.timeoutMs + 15_000 + (d.rateLimitPerSecond ? 30_000 : 0),
    ...(waitCancelled
      ? {
          heartbeatTimeout: '10s',
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        }
      : {}),
    summary: deliveryActivitySummary(d, maxAttempts(d.policy)),
    retry: {
      // The activity ends the delivery itself when the policy is spent (attempts lost with a dead worker
      // are logged and count too). Each attempt costs Temporal at most two tries, a wait for a send slot
      // (which is then used, never reserved again) and the send, plus crashes before any send: this
      // bound can never stop a delivery that is only waiting for its slot.
      maximumAttempts: waitCancelled ? 2 * remaining + 20 : remaining + 20,
      // Used only when an attempt dies without deciding its own delay (a worker crash).
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '10m',
      nonRetryableErrorTypes: [ACTIVITY_FAILURES.deliveryNotFound],
    },
  };
}
