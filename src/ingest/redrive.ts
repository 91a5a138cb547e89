import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { failedDeliveryIds, reopenFailedDeliveries, returnToFailed } from '../db/deliveries.js';
import { findEvent, type StoredEvent } from '../db/events.js';
import type { Pool } from '../db/pool.js';
import type { InboundEventType } from '../domain/event-types.js';
import { errors } from '../errors.js';
import { forgetSupersededRuns, redriveDeliveries } from '../temporal/event-signals.js';
import { boundedWait } from '../temporal/timeout.js';

/**
 * Re-driving failed deliveries: each is reopened (pending again, same webhook-id) and its event workflow is
 * woken, or started again if it has closed, with one signal per event. What cannot be handed to Temporal
 * goes back to failed, so nothing is left half-done, and the caller answers 503. A new run starts with the
 * event's search attributes, and the closed runs it supersedes are deleted from Temporal, so the Web UI's
 * queries answer with the event as it now is.
 */
export interface RedriveDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
  /** Where a superseded run that could not be deleted is reported. */
  logger?: Logger | undefined;
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
    let signalled: { runId: string };
    let client: Client;
    try {
      client = await deps.client();
      signalled = await boundedWait(
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
            affiliateId: affiliateOf(event),
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
    await forgetSuperseded(deps, client, event.workflowId, signalled.runId);
  }
  return reopened.length;
}

/** The affiliate the event was applied with (inherited from the registration, maybe): its AffiliateId. */
function affiliateOf(event: StoredEvent): string | undefined {
  const affiliateId = event.facts?.effectiveAttribution?.affiliateId;
  return typeof affiliateId === 'string' ? affiliateId : undefined;
}

/**
 * Deletes the closed runs the redrive superseded (src/temporal/event-signals.ts says why). Best effort:
 * the redrive has happened whatever this does, and a run left behind is only a stale search result,
 * gone at the namespace's retention.
 */
async function forgetSuperseded(deps: RedriveDeps, client: Client, workflowId: string, runId: string) {
  try {
    await boundedWait(forgetSupersededRuns(client, workflowId, runId), 5_000, 'deleting superseded runs');
  } catch (err) {
    deps.logger?.warn({ workflowId, err: (err as Error).message }, 'superseded runs of a redrive left');
  }
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
