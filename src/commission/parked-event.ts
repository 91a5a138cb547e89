import { ensureDeliveries } from '../db/deliveries.js';
import { recordEmittedEvent } from '../db/events.js';
import { deliveryPolicy, operatorRetryPolicy } from '../db/endpoints.js';
import { findSubscribedEndpoints } from '../db/endpoint-subscriptions.js';
import type { Queryable } from '../db/pool.js';
import { eventWorkflowId, internalEventId } from '../domain/ids.js';
import { filterSubject, routeAll } from '../domain/routing-filter.js';
import { bodyHash } from '../body-hash.js';

/** The operational event a parked settlement emits (src/domain/event-types.ts). */
export const SETTLEMENT_PARKED = 'settlement.parked';

/**
 * Records `settlement.parked` for an event the settlement has just parked, with its deliveries, inside
 * the settlement's transaction, when an endpoint of the operator names it (the exact type or
 * `settlement.*`; never `*`, and never an affiliate-scoped endpoint: it tells about the operator's data,
 * not an affiliate's business). One per parking: an event re-settled and parked again emits again.
 * Returns the notification whose workflow the step starts after its commit, or null.
 */
export async function recordParked(
  tx: Queryable,
  ref: { operatorId: string; customerId: string },
  parked: { eventId: string; eventType: string; error: string; parkedAt: Date },
): Promise<{ eventId: string; workflowId: string; type: string; customerId: string } | null> {
  const subscribed = await findSubscribedEndpoints(tx, ref.operatorId, SETTLEMENT_PARKED, null);
  if (!subscribed.length) return null;
  const eventId = internalEventId(`${SETTLEMENT_PARKED}~${parked.eventId}~${parked.parkedAt.getTime()}`);
  const workflowId = eventWorkflowId(ref.operatorId, eventId);
  const payload = {
    id: eventId,
    type: SETTLEMENT_PARKED,
    occurredAt: parked.parkedAt.toISOString(),
    customerId: ref.customerId,
    data: {
      eventId: parked.eventId,
      eventType: parked.eventType,
      customerId: ref.customerId,
      error: parked.error,
      parkedAt: parked.parkedAt.toISOString(),
    },
  };
  // Endpoint filters read its data (no brand, country or attribution: it is about the operator's data).
  const routed = routeAll(subscribed, filterSubject({ data: payload.data }));
  if (!routed.length) return null;
  const { inserted } = await recordEmittedEvent(tx, {
    operatorId: ref.operatorId,
    eventId,
    type: SETTLEMENT_PARKED,
    workflowId,
    customerId: ref.customerId,
    payload,
    occurredAt: payload.occurredAt,
    bodyHash: bodyHash(payload),
    facts: { effectiveAttribution: null, ftd: false },
    commissionEntryId: null,
    settled: true,
    inFeed: true,
  });
  if (!inserted) return null;
  const policy = await operatorRetryPolicy(tx, ref.operatorId);
  await ensureDeliveries(
    tx,
    ref.operatorId,
    eventId,
    workflowId,
    routed.map(({ target, routing }) => ({
      endpointId: target.id,
      eventType: SETTLEMENT_PARKED,
      retryPolicy: deliveryPolicy(target, policy),
      routing,
    })),
  );
  return { eventId, workflowId, type: SETTLEMENT_PARKED, customerId: ref.customerId };
}
