import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { round } from './stats.js';

/**
 * The bench's own stalls during a phase. Its load generator and its receivers share one event loop, so a
 * pause of that loop (its garbage collector, a long synchronous step) delays every request it sends and
 * every arrival it timestamps at once: a cluster of slow events that the system under test never caused.
 * Reported beside the phase's latencies so such a cluster can be told apart from the system's own stalls.
 */
export interface OwnStalls {
  /** The event loop's delay (the time a timer ran late), p99 and the worst, in ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The longest garbage-collection pause, and how many lasted over 50 ms. */
  gcMaxPauseMs: number;
  gcPausesOver50Ms: number;
}

export function watchOwnStalls(): { stop(): OwnStalls } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let gcMax = 0;
  let gcOver50 = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceEntry[]) {
      gcMax = Math.max(gcMax, e.duration);
      if (e.duration > 50) gcOver50++;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      delay.disable();
      gc.disconnect();
      // The histogram is in nanoseconds; its resolution (10 ms) is the floor of what it can see.
      return {
        loopDelayP99Ms: round(delay.percentile(99) / 1e6, 1),
        loopDelayMaxMs: round(delay.max / 1e6, 1),
        gcMaxPauseMs: round(gcMax, 1),
        gcPausesOver50Ms: gcOver50,
      };
    },
  };
}
