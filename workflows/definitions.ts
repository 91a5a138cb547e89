/**
 * Signals, queries and updates of the event workflow and of the customer workflow: part of the public
 * contract (docs/api-v1.md section 7). Defined once here and imported by the workflows, the REST API and, through
 * src/temporal/event-signals.ts and src/temporal/customer-signals.ts, other services.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DeliveryPlan } from '../activities/index.js';

/** Attempt a waiting (`retrying`) delivery now instead of at its scheduled time. */
export const retryDeliverySignal = defineSignal<[{ deliveryId: string }]>('retryDelivery');

/**
 * Its endpoint's breaker let it go (closed, or this delivery probes next): a delivery waiting for the
 * breaker looks again now. Sent by the delivery workers, not an operator's call.
 */
export const wakeDeliverySignal = defineSignal<[{ deliveryId: string }]>('wakeDelivery');

/** Stop a delivery that has not finished; it ends `cancelled`. */
export const cancelDeliverySignal = defineSignal<[{ deliveryId: string; reason?: string }]>('cancelDelivery');

/** Deliver again deliveries that were `failed` and have been reopened (same webhook-id, fresh schedule). */
export const redriveDeliveriesSignal = defineSignal<[{ deliveryIds: string[] }]>('redriveDeliveries');

/**
 * Deliver again deliveries an endpoint's replay put back to pending (same webhook-id) or made, each with
 * its plan as PostgreSQL has it (POST /v1/endpoints/{id}/replay; a closed workflow is started again).
 */
export const replayDeliveriesSignal = defineSignal<[ReplayedDeliveries]>('replayDeliveries');

export interface ReplayedDeliveries {
  deliveries: DeliveryPlan[];
}

export interface AttemptFailedInfo {
  deliveryId: string;
  attempt: number;
  nextAttemptAt: string;
  error: string;
}

/** Sent by the delivery activity after a failed attempt, so the workflow can show it (search attributes). */
export const deliveryAttemptFailedSignal = defineSignal<[AttemptFailedInfo]>('deliveryAttemptFailed');

export interface DeliveryView {
  deliveryId: string;
  endpointId: string;
  eventType: string;
  status: 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
  attemptCount: number;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/** The deliveries of this event as the workflow sees them now. */
export const deliveriesQuery = defineQuery<DeliveryView[]>('deliveries');

// --- The customer's entity workflow (commissions) -------------------------------------------------

/** A recorded commission event of this customer is waiting to be settled (sent by the event workflow). */
export const customerEventSignal = defineSignal<[{ eventId: string }]>('customerEvent');

/** What a decision by hand did: `booked`, `duplicate` (decided so before) or `refused` (and why). */
export interface CommissionDecisionView {
  commissionId: string;
  outcome: 'booked' | 'duplicate' | 'refused';
  /** `already_approved`, `already_rejected`, `already_reversed`, `not_found`, ... when refused. */
  refusal: string | null;
}

/** Approve a pending commission now, before its hold ends. */
export const approveCommissionUpdate = defineUpdate<CommissionDecisionView, [{ commissionId: string }]>(
  'approveCommission',
);

/** Reject a pending commission; the reason is shown to the affiliate. */
export const rejectCommissionUpdate = defineUpdate<
  CommissionDecisionView,
  [{ commissionId: string; reason: string }]
>('rejectCommission');

export interface HoldView {
  commissionId: string;
  holdUntil: string;
}

/**
 * The customer's earliest pending commission and when its hold ends (an empty list when none is pending).
 * Only the earliest: the workflow keeps no list of holds (`GET /v1/affiliates/{id}/commissions?status=pending`
 * has them all).
 */
export const commissionHoldsQuery = defineQuery<HoldView[]>('commissionHolds');
