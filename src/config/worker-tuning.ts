import { z } from 'zod';
import { booleanFlag } from './boolean-flag.js';

/** How each process hosting a worker sizes it; unset, the Temporal SDK's defaults (src/main/host/worker.ts). */
export const WORKER_TUNING_CONFIG = {
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .describe(
      "Workflows a worker keeps in memory between their tasks; an evicted one replays its history on its next task. Unset: the Temporal SDK's default from the heap limit, ((heap MiB - 200) x 600 / 1024), about 2,300 on a 4 GiB heap. Lower it to bound a worker's memory when many customers' settlement workflows sleep on holds; 0 turns the cache off.",
    ),
  API_EMBEDDED_WORKER_RETRIES: booleanFlag
    .default(true)
    .describe(
      "Whether the API's embedded worker also runs server-side activities: delivery retries, waits for a send slot or for an endpoint's breaker, replay pages, clean-up. false: it runs only the event workflows it starts and their local first attempts, and the worker processes (which every deployment runs, for the reconciler) run the rest, so no backlog or failing endpoint queues work in the API's event loop ahead of fresh events.",
    ),
};

/** The API process reads these besides the worker settings. */
export const API_WORKER_TUNING_KEYS = ['API_EMBEDDED_WORKER_RETRIES'] as const;

export const WORKER_TUNING_KEYS = ['WORKER_MAX_CACHED_WORKFLOWS'] as const;
