import { followUp } from './follow-ups.js';
import { countAttempt, writeAttempt } from './record.js';
import type { DeliverDeps, DeliverOutcome, RetryingOutcome, UnrecordedOutcome } from './types.js';

/**
 * Logs an attempt the delivery activity sent but could not log (PostgreSQL was away), then follows it up.
 * Run by the workflow as a local activity retried until PostgreSQL is back: it never sends anything. A
 * failed attempt comes back `retrying` with its delay, for the workflow to wait out.
 */
export async function recordDeliveryOutcome(
  deps: DeliverDeps,
  unrecorded: UnrecordedOutcome,
): Promise<DeliverOutcome | RetryingOutcome> {
  const recorded = await writeAttempt(deps, unrecorded.subject, unrecorded.decision);
  countAttempt(recorded.status, unrecorded.decision.statusCode);
  return followUp(deps, unrecorded.subject, unrecorded.decision, recorded, { signalWorkflow: false });
}
