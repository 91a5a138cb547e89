import { overdueProbers, unsweptBreakers } from '../db/endpoint-breaker.js';
import { breakerWatchWakes } from '../metrics.js';
import { wake, wakeBreakerWaiters, type BreakerWaitsDeps } from './breaker-waits.js';
import { runEvery } from './periodic.js';

/**
 * Deliveries held by an endpoint's breaker sleep until a wake-up (src/ingest/breaker-waits.ts) or their
 * recheck, an hour later by default. A wake-up is a signal sent once, after the attempt that moved the
 * breaker: lost (its process stopped, Temporal slow or away, the run busy with something else), the
 * endpoint would stall for that hour although nothing holds it any more. This watch, run by every worker,
 * finds such endpoints in PostgreSQL and wakes them again: a closed breaker with deliveries still waiting
 * is swept anew, and an open one whose probe is overdue has its prober woken (or, when the named one has
 * ended, the delivery waiting longest named and woken). Concurrent watchers take different endpoints.
 */
export interface BreakerWatchOptions {
  /** How far past its time a probe must be before the watch wakes its prober. */
  graceMs: number;
  /** Endpoints looked at per look, of each kind. */
  limit: number;
}

const DEFAULTS: BreakerWatchOptions = { graceMs: 5_000, limit: 100 };

/** One look: answers how many endpoints it swept and how many probers it woke. */
export async function watchBreakersOnce(
  deps: BreakerWaitsDeps,
  opts: BreakerWatchOptions = DEFAULTS,
  stopping: () => boolean = () => false,
): Promise<{ swept: number; probers: number }> {
  let swept = 0;
  let probers = 0;
  for (const w of await overdueProbers(deps.pool, opts.graceMs, opts.limit)) {
    if (stopping()) break;
    deps.logger?.warn(
      { endpointId: w.endpointId, deliveryId: w.id },
      'breaker probe overdue: its prober woken',
    );
    if (await wake(await deps.client(), w)) probers++;
    breakerWatchWakes.inc({ kind: 'prober' });
  }
  for (const endpointId of await unsweptBreakers(deps.pool, opts.limit)) {
    if (stopping()) break;
    const woken = await wakeBreakerWaiters(deps, endpointId);
    deps.logger?.warn({ endpointId, woken }, 'breaker closed with deliveries still waiting: swept again');
    breakerWatchWakes.inc({ kind: 'sweep' });
    swept++;
  }
  return { swept, probers };
}

/** Runs watchBreakersOnce every intervalMs until stopped. */
export function startBreakerWatch(
  deps: BreakerWaitsDeps,
  intervalMs: number,
  opts: BreakerWatchOptions = DEFAULTS,
): { stop: () => Promise<void> } {
  return runEvery(
    intervalMs,
    async (stopping) => void (await watchBreakersOnce(deps, opts, stopping)),
    (err) => deps.logger?.warn({ err: { message: err.message } }, 'breaker watch failed'),
  );
}
