/**
 * Signals and queries of the event workflow: part of the public contract (section 7). Defined once here and
 * imported by the workflow, the REST API and, through src/temporal/event-signals.ts, other services.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Attempt a waiting (`retrying`) delivery now instead of at its scheduled time. */
export const retryDeliverySignal = defineSignal<[{ deliveryId: string }]>('retryDelivery');

/** Stop a delivery that has not finished; it ends `cancelled`. */
export const cancelDeliverySignal = defineSignal<[{ deliveryId: string; reason?: string }]>('cancelDelivery');

/** Deliver again deliveries that were `failed` and have been reopened (same webhook-id, fresh schedule). */
export const redriveDeliveriesSignal = defineSignal<[{ deliveryIds: string[] }]>('redriveDeliveries');

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
