import { finishDelivery as finishDeliveryRow } from '../src/db/deliveries.js';
import { applyEventTx, type AppliedEvent, type EventRef } from './apply-event.js';
import {
  deliverWebhook,
  type DeliverDeps,
  type DeliverInput,
  type DeliverOutcome,
} from './deliver-webhook.js';

export type { AppliedEvent, DeliveryPlan, EventRef } from './apply-event.js';
export type { AttemptFailure, DeliverInput, DeliverOutcome } from './deliver-webhook.js';
export type { EventFacts } from '../src/db/events.js';

/** Everything the activities need, injected so tests can hand in their own. */
export type ActivityDeps = DeliverDeps;

/** Builds the activities with their dependencies injected, so tests can hand in their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Derives what an event means (attribution, FTD) and creates its deliveries, in one transaction. */
    async applyEvent(ref: EventRef): Promise<AppliedEvent> {
      return applyEventTx(deps.pool, ref);
    },
    /** One attempt of a webhook delivery; Temporal retries it on the delivery's policy. */
    async deliverWebhook(input: DeliverInput): Promise<DeliverOutcome> {
      return deliverWebhook(deps, input);
    },
    /** Ends a delivery without an attempt: cancelled by request, or given up by Temporal. */
    async finishDelivery(input: { deliveryId: string; status: 'cancelled' | 'failed'; reason: string }) {
      await finishDeliveryRow(deps.pool, input.deliveryId, input.status, input.reason.slice(0, 1000));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
