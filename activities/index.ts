import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { finishDelivery as finishDeliveryRow } from '../src/db/deliveries.js';
import type { Pool } from '../src/db/pool.js';
import type { HttpSender } from '../src/delivery/http.js';
import type { SecretCipher } from '../src/delivery/secrets.js';
import { applyEventTx, type AppliedEvent, type EventRef } from './apply-event.js';
import {
  deliverWebhook,
  type DeliverInput,
  type DeliverOutcome,
  type DeliveryHealth,
} from './deliver-webhook.js';

export type { AppliedEvent, DeliveryPlan, EventRef } from './apply-event.js';
export type { DeliverInput, DeliverOutcome } from './deliver-webhook.js';
export type { EventFacts } from '../src/db/events.js';

export interface ActivityDeps {
  pool: Pool;
  cipher: SecretCipher;
  http: HttpSender;
  /** For the attempt-failed signal that keeps search attributes current; optional in narrow tests. */
  client?: Client | undefined;
  logger?: Logger | undefined;
  /** The task queue operational events' workflows start on. */
  taskQueue?: string | undefined;
  health?: DeliveryHealth | undefined;
}

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
