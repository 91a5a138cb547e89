import type { Client } from '@temporalio/client';
import { failedDeliveryIds, reopenFailedDeliveries, returnToFailed } from '../db/deliveries.js';
import { findEvent } from '../db/events.js';
import type { Pool } from '../db/pool.js';
import type { InboundEventType } from '../domain/event-types.js';
import { errors } from '../errors.js';
import { redriveDeliveries } from '../temporal/event-signals.js';
import { boundedWait } from '../temporal/timeout.js';

/**
 * Re-driving failed deliveries: each is reopened (pending again, same webhook-id) and its event workflow is
 * woken, or started again if it has closed, with one signal per event. What cannot be handed to Temporal
 * goes back to failed, so nothing is left half-done, and the caller answers 503.
 */
export interface RedriveDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
}

export interface FailedDelivery {
  id: string;
  eventId: string;
  workflowId: string;
}

/** Reopens failed deliveries and wakes (or restarts) their event workflows; answers how many reopened. */
export async function redriveBatch(
  deps: RedriveDeps,
  operatorId: string,
  batch: FailedDelivery[],
): Promise<number> {
  const reopened = await reopenFailedDeliveries(
    deps.pool,
    operatorId,
    batch.map((d) => d.id),
  );
  const byEvent = new Map<string, string[]>();
  for (const d of reopened) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d.id]);
  for (const [eventId, ids] of byEvent) {
    const event = (await findEvent(deps.pool, operatorId, eventId))!;
    try {
      const client = await deps.client();
      await boundedWait(
        redriveDeliveries(
          client,
          {
            workflowId: event.workflowId,
            taskQueue: deps.taskQueue,
            input: {
              operatorId,
              eventId,
              type: event.type as InboundEventType,
              customerId: event.customerId,
            },
          },
          ids,
        ),
        5_000,
        'the redrive',
      );
    } catch {
      await returnToFailed(deps.pool, ids);
      throw errors.unavailable('temporal');
    }
  }
  return reopened.length;
}

export interface RecoverWindow {
  since: string;
  /** Now when absent. */
  until?: string | undefined;
  /** Count what would be re-driven, change nothing. */
  dryRun: boolean;
}

/** Re-drives an endpoint's failed deliveries created in [since, until), 500 at a time; answers the count. */
export async function recoverEndpoint(
  deps: RedriveDeps,
  operatorId: string,
  endpointId: string,
  window: RecoverWindow,
): Promise<number> {
  const until = window.until ?? new Date().toISOString();
  let count = 0;
  let after: string | null = null;
  for (;;) {
    const batch = await failedDeliveryIds(deps.pool, operatorId, endpointId, window.since, until, after, 500);
    if (!batch.length) break;
    after = batch[batch.length - 1]!.id;
    count += window.dryRun ? batch.length : await redriveBatch(deps, operatorId, batch);
  }
  return count;
}
