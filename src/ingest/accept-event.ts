import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
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
 * 2. Its workflow is started under the business key `event:<operator>:<id>`, reusing a running one and
 *    never restarting a closed one, so any number of starts make one workflow.
 * 3. The row is marked started and acknowledged, and only then does the sender get 202.
 *
 * If step 2 fails the sender gets 503 and the row stays unstarted: a retry with the same body resumes at
 * step 2, and the reconciler starts it anyway after a grace period. If step 3 fails the workflow is
 * running and marks the row itself. So a recorded event always ends up with exactly one workflow.
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

  try {
    const client = await deps.client();
    await startAcceptedEvent(client, operatorId, event, deps.start);
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
