import { recordEvent, type NewEvent } from '../../src/db/events.js';
import type { Pool } from '../../src/db/pool.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { bodyHash } from '../../src/body-hash.js';
import type { ReconcilerDeps } from '../../src/ingest/reconciler.js';
import { createLogger } from '../../src/log.js';
import type { System } from './system.js';

type EventBody = { id: string; type: string; occurredAt: string; customerId: string };

/** An operator's event as the API records it (its row's fields, workflow id and body hash). */
export function newEventOf(operatorId: string, event: EventBody): NewEvent {
  return {
    operatorId,
    eventId: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    customerId: event.customerId,
    payload: event,
    bodyHash: bodyHash(event),
    workflowId: eventWorkflowId(operatorId, event.id),
  };
}

/**
 * Records an event as the API does before it starts the workflow, and starts nothing: the state an event is
 * in when the API dies in between, or when its workflow has not yet run. Returns its reference.
 */
export async function recordOnly(pool: Pool, operatorId: string, event: EventBody) {
  const e = newEventOf(operatorId, event);
  await recordEvent(pool, e);
  return { operatorId, eventId: event.id, workflowId: e.workflowId };
}

/** A reconciler on the system's task queue that takes only events aged by ageEvents. */
export function agedReconcilerDeps(sys: Pick<System, 'pool' | 'client' | 'taskQueue'>): ReconcilerDeps {
  return {
    pool: sys.pool,
    client: sys.client,
    start: { taskQueue: sys.taskQueue, eager: false, timeoutMs: 5_000 },
    logger: createLogger('silent'),
    graceMs: AGED_GRACE_MS,
  };
}

/**
 * A reconciler grace that only events aged by ageEvents have passed. A test's reconciler with a grace of
 * 0 would also start other test files' events caught between their recording and their start (on its own
 * task queue, away from their worker); events are aged an hour, the grace is half of that.
 */
export const AGED_GRACE_MS = 30 * 60_000;

/** Backdates the events' acceptance by an hour, past AGED_GRACE_MS, for a test's reconciler to take. */
export async function ageEvents(pool: Pool, operatorId: string, eventIds: string[]): Promise<void> {
  await pool.query(
    `UPDATE events SET received_at = received_at - interval '1 hour'
      WHERE operator_id = $1 AND event_id = ANY($2::text[])`,
    [operatorId, eventIds],
  );
}
