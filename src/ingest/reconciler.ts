import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { findUnstartedEvents, markWorkflowStarted } from '../db/events.js';
import type { Pool } from '../db/pool.js';
import type { InboundEventType } from '../domain/event-types.js';
import { reconcilerStarts } from '../metrics.js';
import { startEventWorkflow, type StartEventOptions } from '../temporal/start-event.js';
import { runEvery } from './periodic.js';

export interface ReconcilerDeps {
  pool: Pool;
  client: Client;
  start: StartEventOptions;
  logger: Logger;
  graceMs: number;
}

/**
 * Starts the workflow of every event that was recorded but whose start was never confirmed (the API lost
 * Temporal, or crashed, between recording and starting). Starting is idempotent, so racing the API is
 * harmless. Returns how many it started.
 */
const BATCH = 200;

export async function reconcileOnce(
  deps: ReconcilerDeps,
  batch = BATCH,
  stopping: () => boolean = () => false,
): Promise<number> {
  const pending = await findUnstartedEvents(deps.pool, deps.graceMs, batch);
  let started = 0;
  for (const e of pending) {
    // A process told to stop finishes the start in flight and leaves the rest to the next one.
    if (stopping()) break;
    try {
      const attribution = e.payload.attribution as { affiliateId?: string } | undefined;
      await startEventWorkflow(
        deps.client,
        {
          workflowId: e.workflowId,
          operatorId: e.operatorId,
          eventId: e.eventId,
          type: e.type as InboundEventType,
          customerId: e.customerId,
          affiliateId: attribution?.affiliateId,
        },
        deps.start,
      );
      await markWorkflowStarted(deps.pool, e.operatorId, e.eventId, false);
      started++;
      reconcilerStarts.inc();
    } catch (err) {
      deps.logger.warn(
        { err: { message: (err as Error).message }, workflowId: e.workflowId },
        'reconcile start failed',
      );
      break; // Temporal or PostgreSQL is away: try the whole batch again next round.
    }
  }
  if (started) deps.logger.info({ started }, 'reconciler started unconfirmed event workflows');
  return started;
}

/**
 * Runs reconcileOnce every intervalMs until stopped. stop() returns once the start in flight is done, not
 * after the backlog: a worker draining on SIGTERM must not spend its grace period starting workflows.
 */
export function startReconciler(deps: ReconcilerDeps, intervalMs: number): { stop: () => Promise<void> } {
  return runEvery(
    intervalMs,
    async (stopping) => {
      // A full batch means more may wait (after an outage): keep going, a bounded number of batches.
      for (let i = 0; i < 50 && !stopping() && (await reconcileOnce(deps, BATCH, stopping)) === BATCH; i++);
    },
    (err) => deps.logger.warn({ err: { message: err.message } }, 'reconcile failed'),
  );
}
