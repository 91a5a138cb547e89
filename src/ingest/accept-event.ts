import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { recordAndApplyTx, type AppliedBeforeStart } from '../../activities/apply-event.js';
import { errors } from '../errors.js';
import type { EventIn } from '../contract/events.js';
import {
  findEvent,
  markWorkflowStarted,
  recordEvent,
  type NewEvent,
  type StoredEvent,
} from '../db/events.js';
import { isDatabaseUnavailable, type Pool } from '../db/pool.js';
import { eventWorkflowId } from '../domain/ids.js';
import { startAcceptedEvent, type StartEventOptions } from '../temporal/start-event.js';
import { bodyHash } from '../body-hash.js';

/**
 * How an event is accepted so that none is ever lost (the outbox pattern, with the events table as the
 * outbox):
 *
 * 1. The event is recorded in PostgreSQL under (operator, id). The primary key decides, atomically, whether
 *    this is new, a duplicate (same canonical body) or a conflict (different body).
 * 2. A new event is applied (attribution, first deposit, its deliveries: activities/apply-event.ts) in the
 *    transaction that records it, so its workflow starts with the delivery plans and makes its first
 *    attempts at once. Should applying fail, the event is recorded alone and its workflow applies it: a
 *    recorded event needs nothing more.
 * 3. Its workflow is started under the business key `event:<operator>:<id>`, reusing a running one and
 *    never restarting a closed one, so any number of starts make one workflow.
 * 4. The row is marked started and acknowledged, and only then does the sender get 202.
 *
 * If step 3 fails the sender gets 503 and the row stays unstarted (step 2 leaves the start unconfirmed): a
 * retry with the same body resumes at step 3, and the reconciler starts it anyway after a grace period;
 * either start finds the event applied and its deliveries made, and reuses them. If step 4 fails the
 * workflow is running and marks the row itself. So a recorded event always ends up with exactly one
 * workflow, and its deliveries are made once.
 */
export interface AcceptDeps {
  pool: Pool;
  client: () => Promise<Client>;
  start: StartEventOptions;
  logger: Logger;
}

export interface AcceptResult {
  duplicate: boolean;
  workflowId: string;
}

export async function acceptEvent(
  deps: AcceptDeps,
  operatorId: string,
  event: EventIn,
): Promise<AcceptResult> {
  const workflowId = eventWorkflowId(operatorId, event.id);
  const hash = bodyHash(event);
  const { inserted, stored, applied } = await record(deps, {
    operatorId,
    eventId: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    customerId: event.customerId,
    payload: event as unknown as Record<string, unknown>,
    bodyHash: hash,
    workflowId,
  });

  if (!inserted && stored) {
    if (stored.bodyHash !== hash) throw errors.eventConflict(event.id);
    if (stored.acknowledgedAt) return { duplicate: true, workflowId };
    // Recorded by an earlier attempt that could not confirm its start: resume at the start.
  }

  try {
    const client = await deps.client();
    await startAcceptedEvent(client, operatorId, event, deps.start, applied);
  } catch (err) {
    deps.logger.warn(
      { err: { message: (err as Error).message }, workflowId },
      'workflow start failed; event kept for retry',
    );
    throw errors.unavailable('temporal');
  }

  try {
    await markWorkflowStarted(deps.pool, operatorId, event.id, true);
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
    throw err;
  }
  return { duplicate: false, workflowId };
}

/**
 * Steps 1 and 2: a new event recorded and applied in one transaction, with what its run starts with; an
 * event recorded before, or one whose application failed (then recorded alone, for its workflow to apply),
 * recorded as it was, without.
 */
async function record(
  deps: AcceptDeps,
  e: NewEvent,
): Promise<{ inserted: boolean; stored?: StoredEvent; applied?: AppliedBeforeStart }> {
  try {
    const applied = await recordAndApplyTx(deps.pool, e);
    if (applied) return { inserted: true, applied };
    // Recorded before: a duplicate, a conflict, or a retry after a failed start.
    const stored = await findEvent(deps.pool, e.operatorId, e.eventId);
    if (stored) return { inserted: false, stored };
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
    deps.logger.warn(
      { err: { message: (err as Error).message }, workflowId: e.workflowId },
      'applying the event on acceptance failed; recorded alone, its workflow applies it',
    );
  }
  try {
    const { inserted, event } = await recordEvent(deps.pool, e);
    return { inserted, stored: event };
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
    throw err;
  }
}
