import type { Pool } from '../src/db/pool.js';
import { applyEventTx, type EventRef } from './apply-event.js';
import type { EventFacts } from '../src/db/events.js';

export type { EventRef } from './apply-event.js';
export type { EventFacts } from '../src/db/events.js';

export interface ActivityDeps {
  pool: Pool;
}

/** Builds the activities with their dependencies injected, so tests can hand in their own pool. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Derives and records what an event means for its customer (attribution, FTD). */
    async applyEvent(ref: EventRef): Promise<EventFacts> {
      return applyEventTx(deps.pool, ref);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
