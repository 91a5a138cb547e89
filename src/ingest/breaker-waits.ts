import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { breakerWaitersPage, handProbeOn, type BreakerWaiter } from '../db/endpoint-breaker.js';
import type { Pool } from '../db/pool.js';
import { wakeDelivery } from '../temporal/event-signals.js';
import { boundedWait } from '../temporal/timeout.js';

/**
 * Deliveries waiting for an endpoint's breaker sleep on Temporal's server-side timers, for as long as
 * BREAKER_RECHECK_INTERVAL: this wakes them when there is something to do. A breaker that closed wakes every one
 * of them, longest waiting first, 100 at a time (each then takes a send slot first when the endpoint is
 * rate-limited); a probe that failed hands the next probe to the one waiting longest, so probes go on at
 * the breaker's pace, one delivery at a time, while the rest sleep. A wake-up that is lost (the process
 * stopped, Temporal away) costs only time: each delivery looks again at its recheck.
 */
export interface BreakerWaitsDeps {
  pool: Pool;
  client: () => Promise<Client>;
  logger?: Logger | undefined;
}

/** Wakes every delivery waiting for the endpoint's breaker while it stays closed; answers how many. */
export async function wakeBreakerWaiters(
  deps: BreakerWaitsDeps,
  endpointId: string,
  opts: { batchSize?: number; concurrency?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 100;
  const concurrency = opts.concurrency ?? 8;
  let woken = 0;
  let after: { since: Date; id: string } | null = null;
  for (;;) {
    const page = await breakerWaitersPage(deps.pool, endpointId, after, batchSize);
    if (!page.length) return woken;
    const last = page[page.length - 1]!;
    after = { since: last.since, id: last.id };
    const client = await deps.client();
    for (let i = 0; i < page.length; i += concurrency) {
      const told = await Promise.all(page.slice(i, i + concurrency).map((w) => wake(client, w)));
      woken += told.filter(Boolean).length;
    }
    if (page.length < batchSize) return woken;
  }
}

/** Names the delivery waiting longest as the next prober of the endpoint's open breaker, and wakes it. */
export async function handProbeToNextWaiter(deps: BreakerWaitsDeps, endpointId: string): Promise<boolean> {
  const next = await handProbeOn(deps.pool, endpointId);
  return next ? wake(await deps.client(), next) : false;
}

/** Signals one waiting delivery's run to look again; false when its run has closed. */
export async function wake(client: Client, w: BreakerWaiter): Promise<boolean> {
  try {
    await boundedWait(wakeDelivery(client, w.workflowId, w.id), 5_000, 'the wake signal');
    return true;
  } catch (err) {
    // Its run has closed: nothing waits there (a new run of a redrive reloads it).
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Runs the wake-up after the attempt that moved the breaker, without holding it up; logs the outcome. */
export function wakeBreakerWaitsInBackground(
  deps: BreakerWaitsDeps,
  endpointId: string,
  change: 'closed' | 'probe_failed',
): void {
  const log = deps.logger?.child({ endpointId, breaker: change });
  const run =
    change === 'closed' ? wakeBreakerWaiters(deps, endpointId) : handProbeToNextWaiter(deps, endpointId);
  run.then(
    (woken) => log?.info({ woken }, 'deliveries waiting for the endpoint breaker woken'),
    (err: Error) =>
      log?.warn({ err: err.message }, 'waking breaker waits stopped: the rest look again at their recheck'),
  );
}
