import { accrualKey, entriesOf } from '../db/commission-holds.js';
import { cancelOvertaken, markAbandoned } from '../db/conversion-replacement.js';
import { ensureDeliveries } from '../db/deliveries.js';
import { recordEmittedEvent } from '../db/events.js';
import { deliveryPolicy, operatorRetryPolicy } from '../db/endpoints.js';
import { findSubscribedEndpoints } from '../db/endpoint-subscriptions.js';
import { findEntryByKey, type CommissionEntry } from '../db/ledger.js';
import type { Queryable } from '../db/pool.js';
import { notificationContext } from '../db/settlement.js';
import { filterSubject, routeAll } from '../domain/routing-filter.js';
import { eventWorkflowId, internalEventId } from '../domain/ids.js';
import { bodyHash } from '../body-hash.js';
import type { CustomerRef, Dispatch, SettlementResult } from './step.js';

/** Reports an entry this step booked and records the notification it brings about. */
export async function booked(
  tx: Queryable,
  ref: CustomerRef,
  result: SettlementResult,
  entry: CommissionEntry,
  commissionId: string,
): Promise<void> {
  result.booked.push({
    entryId: entry.id,
    commissionId,
    kind: entry.kind,
    status: entry.status,
    currency: entry.currency,
  });
  await notify(tx, ref, entry, result.dispatch);
}

const NOTIFICATION_TYPE = {
  accrual: 'commission.accrued',
  approval: 'commission.approved',
  rejection: 'commission.rejected',
  reversal: 'commission.reversed',
} as const;

/**
 * Records the `commission.*` event an entry brings about, with its deliveries, if any endpoint subscribes.
 * A rejection or reversal first cancels the conversions it overtakes: each endpoint that has not yet
 * received the conversion (the earning event, or this commission's accrued/approved notification) gets
 * neither, so no tracker ever sees a reversal before its conversion.
 */
async function notify(
  tx: Queryable,
  ref: CustomerRef,
  entry: CommissionEntry,
  dispatch: Dispatch,
): Promise<void> {
  if (entry.kind === 'review') return;
  const type = NOTIFICATION_TYPE[entry.kind];
  const commissionId = entry.kind === 'accrual' ? entry.id : (entry.relatedEntry ?? entry.reversalOf)!;
  const accrual = entry.kind === 'accrual' ? entry : await findAccrual(tx, ref.operatorId, commissionId);
  const subscribed = await findSubscribedEndpoints(tx, ref.operatorId, type, entry.affiliateId);
  if (!subscribed.length) return;
  // Endpoint filters judge the notification by what it says: the commission, the customer's attribution
  // and country, the brand of the event that earned it (also sent, as the event's `brand`).
  const context = await notificationContext(tx, ref, accrual.eventId);
  const attribution = context.attribution ?? { affiliateId: entry.affiliateId };
  const data = notificationData(entry, accrual);
  const subject = filterSubject({ ...context, attribution, data, customerCountry: context.country });
  const routed = routeAll(subscribed, subject);
  if (!routed.length) return;
  const endpoints = routed.map((r) => r.target);
  const routingOf = new Map(routed.map((r) => [r.target.id, r.routing]));

  const eventId = internalEventId(`${type}~${entry.id}`);
  const workflowId = eventWorkflowId(ref.operatorId, eventId);
  let targets = endpoints;
  if (entry.kind === 'rejection' || entry.kind === 'reversal') {
    const related = await entriesOf(tx, commissionId);
    const o = {
      conversionEventId: accrual.eventId,
      entryIds: related,
      endpointIds: endpoints.map((e) => e.id),
      replacedBy: eventId,
    };
    const reason = `the commission was ${entry.status} before this conversion was delivered`;
    const overtaken = await cancelOvertaken(tx, ref.operatorId, o, `cancelled: ${reason}`);
    // A conversion that failed for good never reached the endpoint either: it gets no reversal, and the
    // failed delivery is marked so that no redrive or recovery sends it after the commission was undone.
    const abandoned = await markAbandoned(tx, ref.operatorId, o);
    const replaced = new Set([...overtaken, ...abandoned].map((o) => o.endpoint_id));
    targets = endpoints.filter((e) => !replaced.has(e.id));
    for (const o of overtaken)
      dispatch.cancellations.push({
        workflowId: o.workflow_id,
        deliveryId: o.id,
        reason,
      });
  }

  // Recorded even when every subscriber had its conversion replaced: an attempt already on the wire that
  // gets through sends this event's data after it (activities/delivery/follow-ups.ts, sendOvertakenReversal).
  const payload = {
    id: eventId,
    type,
    occurredAt: new Date(entry.occurredAt).toISOString(),
    ...(context.brand ? { brand: context.brand } : {}),
    customerId: ref.customerId,
    attribution,
    data,
  };
  const { inserted } = await recordEmittedEvent(tx, {
    operatorId: ref.operatorId,
    eventId,
    type,
    workflowId,
    customerId: ref.customerId,
    payload,
    occurredAt: payload.occurredAt,
    bodyHash: bodyHash(payload),
    facts: { effectiveAttribution: attribution, ftd: false },
    commissionEntryId: entry.id,
    settled: true,
    inFeed: true,
  });
  if (!inserted) return; // booked and notified by an earlier try of this transaction's work
  const policy = await operatorRetryPolicy(tx, ref.operatorId);
  await ensureDeliveries(
    tx,
    ref.operatorId,
    eventId,
    workflowId,
    targets.map((e) => ({
      endpointId: e.id,
      eventType: type,
      retryPolicy: deliveryPolicy(e, policy),
      routing: routingOf.get(e.id) ?? null,
    })),
  );
  dispatch.notifications.push({ eventId, workflowId, type, customerId: ref.customerId });
}

async function findAccrual(tx: Queryable, operatorId: string, id: string): Promise<CommissionEntry> {
  const key = await accrualKey(tx, operatorId, id);
  const entry = key ? await findEntryByKey(tx, operatorId, key) : null;
  if (!entry) throw new Error(`accrual ${id} not found`);
  return entry;
}

/**
 * The `data` of a `commission.*` event: the commission as the API shows it after this entry, plus the ids
 * trackers match on. `eventId` is the event that caused this transition (null for an approval or a
 * decision by hand); `conversionEventId` is the event that earned the commission, the transaction id a
 * tracker knows from the conversion.
 */
export function notificationData(entry: CommissionEntry, accrual: CommissionEntry): Record<string, unknown> {
  const isReversal = entry.kind === 'reversal';
  return {
    id: isReversal ? entry.id : accrual.id,
    commissionId: accrual.id,
    affiliateId: accrual.affiliateId,
    customerId: accrual.customerId,
    eventId: entry.eventId,
    conversionEventId: accrual.eventId,
    model: accrual.model,
    rule: accrual.rule,
    amount: entry.kind === 'reversal' ? entry.amount : accrual.amount,
    currency: accrual.currency,
    status: entry.status,
    holdUntil: accrual.holdUntil?.toISOString() ?? null,
    reversalOf: isReversal ? accrual.id : null,
    reason: entry.reason,
    createdAt: entry.createdAt.toISOString(),
  };
}
