import type { Client } from '@temporalio/client';
import type { InternalEvent } from '../../activities/ports.js';
import { ensureDeliveries, type Delivery } from '../db/deliveries.js';
import { deliveryPolicy, operatorRetryPolicy } from '../db/endpoints.js';
import { markWorkflowStarted, recordEmittedEvent } from '../db/events.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { eventWorkflowId, internalEventId } from '../domain/ids.js';
import { startEventWorkflow } from '../temporal/start-event.js';
import { bodyHash } from '../body-hash.js';

export type { InternalEvent };

export interface InternalEventDeps {
  pool: Pool;
  client: Client;
  taskQueue: string;
  startTimeoutMs: number;
}

/**
 * Records an event the orchestrator emits itself (see `InternalEvent`) and starts its workflow: the
 * implementation of the activities' `emitInternalEvent` port, and what `webhook.test` calls.
 */
export async function emitInternalEvent(
  deps: InternalEventDeps,
  e: InternalEvent,
): Promise<{ eventId: string; workflowId: string; deliveries: Delivery[] }> {
  const eventId = internalEventId(e.key);
  const workflowId = eventWorkflowId(e.operatorId, eventId);
  const customerId = e.customerId ?? '';
  const attribution = e.attribution ?? null;
  const payload = {
    id: eventId,
    type: e.type,
    occurredAt: new Date().toISOString(),
    customerId,
    ...(attribution ? { attribution } : {}),
    data: e.data,
  };
  const deliveries = await withTransaction(deps.pool, async (tx) => {
    const { inserted } = await recordEmittedEvent(tx, {
      operatorId: e.operatorId,
      eventId,
      type: e.type,
      occurredAt: payload.occurredAt,
      customerId,
      payload,
      bodyHash: bodyHash(payload),
      workflowId,
      // A targeted event is fanned out here (recorded processed), so the workflow only delivers what exists.
      facts: e.onlyEndpoint ? { effectiveAttribution: attribution, ftd: false } : null,
      commissionEntryId: e.commissionEntryId ?? null,
    });
    if (!inserted || !e.onlyEndpoint) return [];
    const policy = deliveryPolicy(e.onlyEndpoint, await operatorRetryPolicy(tx, e.operatorId));
    return ensureDeliveries(tx, e.operatorId, eventId, workflowId, [
      { endpointId: e.onlyEndpoint.id, eventType: e.type, retryPolicy: policy },
    ]);
  });
  await startEventWorkflow(
    deps.client,
    {
      workflowId,
      operatorId: e.operatorId,
      eventId,
      type: e.type,
      customerId,
    },
    { taskQueue: deps.taskQueue, eager: false, timeoutMs: deps.startTimeoutMs },
  );
  await markWorkflowStarted(deps.pool, e.operatorId, eventId, true);
  return { eventId, workflowId, deliveries };
}
