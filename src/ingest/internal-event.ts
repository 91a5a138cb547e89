import type { Client } from '@temporalio/client';
import type { InternalEvent } from '../../activities/ports.js';
import { ensureDeliveries, type Delivery, type DeliveryRouting } from '../db/deliveries.js';
import { deliveryPolicy, operatorRetryPolicy, type Endpoint } from '../db/endpoints.js';
import { markWorkflowStarted, recordEmittedEvent } from '../db/events.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
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

/** An internal event as recorded, whose workflow is to be started once its transaction has committed. */
export interface RecordedInternalEvent {
  eventId: string;
  workflowId: string;
  type: InternalEvent['type'];
  customerId: string;
  affiliateId: string | null;
  /** False when an earlier try recorded it already. */
  inserted: boolean;
  deliveries: Delivery[];
}

/** An endpoint an internal event is fanned out to, with why its filter let the event through. */
export interface RoutedEndpoint {
  target: Endpoint;
  routing: DeliveryRouting | null;
}

/**
 * Records an event the orchestrator emits itself (see `InternalEvent`) inside the caller's transaction, so
 * the fact it reports and its event commit together. With `subscribers`, the event is fanned out here to
 * those endpoints (recorded processed, its deliveries with it), as a targeted event is to `onlyEndpoint`;
 * otherwise its workflow fans it out. Start its workflow after commit (`startInternalEvent`); the reconciler
 * starts it if that never happens.
 */
export async function recordInternalEvent(
  tx: Queryable,
  e: InternalEvent,
  subscribers?: RoutedEndpoint[],
): Promise<RecordedInternalEvent> {
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
  const targets: RoutedEndpoint[] | undefined = e.onlyEndpoint
    ? [{ target: e.onlyEndpoint, routing: null }]
    : subscribers;
  const { inserted } = await recordEmittedEvent(tx, {
    operatorId: e.operatorId,
    eventId,
    type: e.type,
    occurredAt: payload.occurredAt,
    customerId,
    payload,
    bodyHash: bodyHash(payload),
    workflowId,
    // A fanned-out event is recorded processed, so the workflow only delivers what exists.
    facts: targets ? { effectiveAttribution: attribution, ftd: false } : null,
    commissionEntryId: e.commissionEntryId ?? null,
    // Sent to one named endpoint (webhook.test, a reversal resent to the endpoint it overtook): not the feed's.
    inFeed: !e.onlyEndpoint,
  });
  const affiliateId = typeof attribution?.affiliateId === 'string' ? attribution.affiliateId : null;
  const recorded = { eventId, workflowId, type: e.type, customerId, affiliateId, inserted, deliveries: [] };
  if (!inserted || !targets?.length) return recorded;
  const operatorPolicy = await operatorRetryPolicy(tx, e.operatorId);
  const deliveries = await ensureDeliveries(
    tx,
    e.operatorId,
    eventId,
    workflowId,
    targets.map(({ target, routing }) => ({
      endpointId: target.id,
      eventType: e.type,
      retryPolicy: deliveryPolicy(target, operatorPolicy),
      routing,
    })),
  );
  return { ...recorded, deliveries };
}

/** Starts the workflow of an internal event recorded by `recordInternalEvent`, once its transaction committed. */
export async function startInternalEvent(
  deps: Pick<InternalEventDeps, 'client' | 'taskQueue' | 'startTimeoutMs'>,
  operatorId: string,
  r: RecordedInternalEvent,
): Promise<void> {
  await startEventWorkflow(
    deps.client,
    {
      workflowId: r.workflowId,
      operatorId,
      eventId: r.eventId,
      type: r.type,
      customerId: r.customerId,
      affiliateId: r.affiliateId ?? undefined,
    },
    { taskQueue: deps.taskQueue, eager: false, timeoutMs: deps.startTimeoutMs },
  );
}

/** An endpoint an internal event is fanned out to, with why its filter let the event through. */
export interface RoutedEndpoint {
  target: Endpoint;
  routing: DeliveryRouting | null;
}

/**
 * Records an event the orchestrator emits itself and starts its workflow: the implementation of the
 * activities' `emitInternalEvent` port, and what `webhook.test` calls.
 */
export async function emitInternalEvent(
  deps: InternalEventDeps,
  e: InternalEvent,
): Promise<{ eventId: string; workflowId: string; deliveries: Delivery[] }> {
  const recorded = await withTransaction(deps.pool, (tx) => recordInternalEvent(tx, e));
  await startInternalEvent(deps, e.operatorId, recorded);
  await markWorkflowStarted(deps.pool, e.operatorId, recorded.eventId, true);
  return { eventId: recorded.eventId, workflowId: recorded.workflowId, deliveries: recorded.deliveries };
}
