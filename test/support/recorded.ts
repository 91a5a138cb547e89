import { recordEvent } from '../../src/db/events.js';
import type { Pool } from '../../src/db/pool.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { bodyHash } from '../../src/body-hash.js';

/**
 * Records an event as the API does before it starts the workflow, and starts nothing: the state an event is
 * in when the API dies in between, or when its workflow has not yet run. Returns its reference.
 */
export async function recordOnly(
  pool: Pool,
  operatorId: string,
  event: { id: string; type: string; occurredAt: string; customerId: string },
) {
  const workflowId = eventWorkflowId(operatorId, event.id);
  await recordEvent(pool, {
    operatorId,
    eventId: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    customerId: event.customerId,
    payload: event,
    bodyHash: bodyHash(event),
    workflowId,
  });
  return { operatorId, eventId: event.id, workflowId };
}
