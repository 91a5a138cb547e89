/**
 * The event workflow's patches, and the level a run is started at. Workflow code: deterministic.
 *
 * The first `patched()` of a run costs a marker and an upsert of `TemporalChangeVersion`, which the SDK
 * adds on its own and a metered service bills as an action. A run started by this code carries
 * `level: EVENT_WORKFLOW_LEVEL` (definitions.ts) in its input (carried on continue-as-new) and takes every patch of that
 * level as applied without asking: it records no marker. A run without a level (started by an older
 * starter) asks as before, so a history recorded before the level replays unchanged.
 *
 * A patch added later is asked for with `patched()` by every run, until a new level lists it.
 */
import { patched } from '@temporalio/workflow';

/** A run whose history grows past its limit continues as new (see processEvent's header). */
export const CONTINUE_AS_NEW = 'event-continue-as-new';
/**
 * A run started without the event's own search attributes (a redrive's run, started by an older API or
 * another service) sets them first, so every run is found by the same queries.
 */
export const EVERY_RUN_FINDABLE = 'event-every-run-findable';
/**
 * A delivery activity that is cancelled (retry-now, cancel) is waited for until it has finished: the next
 * attempt never starts while the previous one may still be on the wire.
 */
export const WAIT_FOR_CANCELLED_ATTEMPT = 'delivery-wait-for-cancelled-attempt';
/** A continued run waits for the later of the handed-over and stored next attempts. */
export const SCHEDULE_FROM_STORE = 'delivery-signal-on-state-change';
/**
 * A run whose deliveries were under way when it started (a redrive's, a continued one) publishes their
 * statuses at once, and every change after: DeliveryStatus is the run's own, never absent (a redriven
 * run whose deliveries all succeeded used to publish nothing).
 */
export const PUBLISH_REOPENED_RUN = 'event-publish-reopened-run';
/**
 * A delivery whose activity Temporal gave up on while it only waited for its endpoint's breaker (no
 * attempt spent) is driven on by a new activity, never dead-lettered for waiting.
 */
export const BREAKER_WAITS = 'delivery-breaker-waits';

/**
 * A redrive or replay signal that reaches a run before the result of the attempt that ended the delivery
 * (both in one workflow task: PostgreSQL said it ended, and the redrive or replay reopened it) is carried
 * out once that result is in. Asked only then: a run that never meets the race records no marker.
 */
export const REDRIVE_WHILE_ENDING = 'delivery-redrive-while-ending';

/** The patches of level 1, every one defined above except REDRIVE_WHILE_ENDING (added later). */
const LEVEL_ONE: ReadonlySet<string> = new Set([
  CONTINUE_AS_NEW,
  EVERY_RUN_FINDABLE,
  WAIT_FOR_CANCELLED_ATTEMPT,
  SCHEDULE_FROM_STORE,
  PUBLISH_REOPENED_RUN,
  BREAKER_WAITS,
]);

/**
 * In a run of level 1 or above, a first retry due within this long after a failed first attempt is made
 * locally and not published unless it fails too (EventDeliveries.firstAttempt): the default schedule's
 * first wait (5 s, +/- 20 %) is within it.
 */
export const QUIET_RETRY_MS = 10_000;

/** Whether a run keeps short first retries quiet (a new behaviour: never for a run without a level). */
export function quietFirstRetries(level: number | undefined): boolean {
  return (level ?? 0) >= 1;
}

/** Whether the run takes `patch`: at once when its level includes it, else by asking (`patched()`). */
export function applied(level: number | undefined, patch: string): boolean {
  if ((level ?? 0) >= 1 && LEVEL_ONE.has(patch)) return true;
  return patched(patch);
}
