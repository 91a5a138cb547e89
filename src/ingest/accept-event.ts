import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { affiliateToWake, applyEventTx, type AppliedBeforeStart } from '../../activities/apply-event.js';
import { errors } from '../errors.js';
import type { EventIn } from '../contract/events.js';
import { recordEvent, markWorkflowStarted, type StoredEvent } from '../db/events.js';
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
 * 2. A new event is applied (attribution, first deposit, its deliveries: activities/apply-event.ts), in a
 *    transaction of its own, so its workflow starts with the delivery plans and makes its first attempts
 *    at once. Should that fail, the workflow applies it itself: a recorded event needs nothing more.
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
  let stored: StoredEvent;
  let inserted: boolean;
  try {
    ({ inserted, event: stored } = await recordEvent(deps.pool, {
      operatorId,
      eventId: event.id,
      type: event.type,
      occurredAt: event.occurredAt,
      customerId: event.customerId,
      payload: event as unknown as Record<string, unknown>,
      bodyHash: hash,
      workflowId,
    }));
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
    throw err;
  }

  if (!inserted) {
    if (stored.bodyHash !== hash) throw errors.eventConflict(event.id);
    if (stored.acknowledgedAt) return { duplicate: true, workflowId };
    // Recorded by an earlier attempt that could not confirm its start: resume at the start.
  }

  const applied = inserted ? await applyBeforeStart(deps, operatorId, event, workflowId) : undefined;
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
 * Step 2: the event applied before its workflow starts, as the run's input; undefined when that failed
 * (PostgreSQL went away, say), which leaves the applying to the workflow, as for every other starter.
 */
async function applyBeforeStart(
  deps: AcceptDeps,
  operatorId: string,
  event: EventIn,
  workflowId: string,
): Promise<AppliedBeforeStart | undefined> {
  try {
    const applied = await applyEventTx(
      deps.pool,
      { operatorId, eventId: event.id, workflowId },
      { beforeStart: true },
    );
    // Applied before (cannot be, for a row just inserted): the workflow's own step also asks whom to wake.
    if (applied.affiliateKnown === undefined) return undefined;
    const wake = affiliateToWake(event.type, applied, applied.affiliateKnown);
    return {
      facts: applied.facts,
      emits: applied.emits,
      deliveries: applied.deliveries,
      ...(wake ? { wakeAffiliateId: wake } : {}),
    };
  } catch (err) {
    deps.logger.warn(
      { err: { message: (err as Error).message }, workflowId },
      'applying the event before its start failed; its workflow applies it',
    );
    return undefined;
  }
}
