import type { Client } from '@temporalio/client';
import { ensureDeliveries, type Delivery } from '../db/deliveries.js';
import { deliveryPolicy, operatorRetryPolicy, type Endpoint } from '../db/endpoints.js';
import { markWorkflowStarted, recordEmittedEvent } from '../db/events.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { EmittedEventType } from '../domain/event-types.js';
import { eventWorkflowId } from '../domain/ids.js';
import { startEventWorkflow } from '../temporal/start-event.js';
import { bodyHash } from './body-hash.js';

/**
 * Events the orchestrator emits itself (operational events, webhook.test). They travel the same path as an
 * operator's event: a recorded row, then the event workflow, which delivers them to subscribed endpoints.
 * Their ids carry `~`, which operator ids cannot, so the two never collide; a fixed id makes emitting
 * the same fact twice a no-op.
 */
export interface InternalEvent {
  operatorId: string;
  /** Unique per fact, e.g. `delivery.failing~dlv_123~0`. */
  key: string;
  type: EmittedEventType;
  data: Record<string, unknown>;
  /** Deliver to this endpoint only, whatever its subscriptions (webhook.test). */
  onlyEndpoint?: Endpoint;
  /** The customer and attribution the event is about (commission notifications); none by default. */
  customerId?: string;
  attribution?: Record<string, unknown> | null;
  /** The ledger entry a `commission.*` notification reports. */
  commissionEntryId?: string | null;
}

export interface InternalEventDeps {
  pool: Pool;
  client: Client;
  taskQueue: string;
  startTimeoutMs: number;
}

export function internalEventId(key: string): string {
  return `sys~${key}`;
}

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
