import { z } from 'zod';
import { DEFAULT_BREAKER } from '../domain/breaker.js';
import { isDuration, parseDuration } from '../domain/duration.js';

/** The per-endpoint circuit breaker's settings (src/domain/breaker.ts), read by processes hosting a worker. */
const duration = z
  .string()
  .refine(isDuration, 'a duration such as "500ms", "5s", "2h"')
  .transform((v) => parseDuration(v));

export const BREAKER_CONFIG = {
  BREAKER_FAILURE_THRESHOLD: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_BREAKER.failureThreshold)
    .describe(
      "Failed attempts in a row (any of an endpoint's deliveries; one delivery failing again counts once another has failed between) that open its breaker: one delivery then probes it while the others wait, spending no attempt. 0 turns the breaker off.",
    ),
  BREAKER_PROBE_INTERVAL: duration
    .default(DEFAULT_BREAKER.probeBaseMs)
    .describe('Wait before an open breaker is first probed; each failed probe doubles it.'),
  BREAKER_PROBE_MAX_INTERVAL: duration
    .default(DEFAULT_BREAKER.probeMaxMs)
    .describe('The longest wait between two probes of an open breaker.'),
  BREAKER_RECHECK_INTERVAL: duration
    .default(DEFAULT_BREAKER.recheckMs)
    .describe(
      'A delivery waiting for an open breaker looks again by itself after this long, should no probe wake it.',
    ),
  BREAKER_WATCH_INTERVAL: duration
    .default(10_000)
    .describe(
      "How often each worker looks for breakers whose wake-up went missing (a closed breaker's deliveries still waiting, an open one's probe overdue) and wakes them again.",
    ),
};

export const BREAKER_KEYS = [
  'BREAKER_FAILURE_THRESHOLD',
  'BREAKER_PROBE_INTERVAL',
  'BREAKER_PROBE_MAX_INTERVAL',
  'BREAKER_RECHECK_INTERVAL',
] as const;

export type BreakerKey = (typeof BREAKER_KEYS)[number];
