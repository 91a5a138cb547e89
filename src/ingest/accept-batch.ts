import type { Client } from '@temporalio/client';
import { errors, type ErrorDetail } from '../errors.js';
import { EventIn } from '../api/schemas/events.js';
import { isDatabaseUnavailable, type Queryable } from '../db/pool.js';
import { eventWorkflowId } from '../domain/ids.js';
import { startAcceptedEvent } from '../temporal/start-event.js';
import { boundedWait } from '../temporal/timeout.js';
import type { AcceptDeps } from './accept-event.js';
import { bodyHash } from './body-hash.js';

/**
 * Accepts many events at once, each exactly as durable as a single `POST /v1/events` (see accept-event.ts):
 *
 * 1. Every item is validated on its own; an invalid one is answered `invalid` with its issues and touches
 *    nothing.
 * 2. The valid ones are recorded in one multi-row insert. The primary key decides, per event id, whether
 *    the row is new, a duplicate (same canonical body) or a conflict (different body). Within one batch
 *    the first item with an id stands for it and later items with that id are judged against it.
 * 3. Every new (or recorded-but-never-acknowledged) event's workflow is started, at most
 *    START_CONCURRENCY at a time. After the first failed start no more are attempted: Temporal is away,
 *    and waiting out one timeout per item would hold the sender for minutes.
 * 4. The started rows are marked started and acknowledged in one update. Only now is an item `accepted`.
 *
 * An item whose start failed is `unavailable`: recorded but not acknowledged, so a retry of the batch
 * resumes it, and the reconciler starts it anyway after its grace period.
 */

export const MAX_BATCH_EVENTS = 500;
export const START_CONCURRENCY = 16;

export type BatchItemStatus = 'accepted' | 'duplicate' | 'conflict' | 'invalid' | 'unavailable';

export interface BatchItemResult {
  index: number;
  /** The item's id when it has one (even when invalid), else null. */
  id: string | null;
  status: BatchItemStatus;
  workflowId?: string;
  issues?: ErrorDetail[];
}

export interface BatchOutcome {
  /** One per input item, in input order. */
  results: BatchItemResult[];
  /** Some item could not be started: the caller answers 503. */
  unavailable: boolean;
}

export interface AcceptBatchOptions {
  /** What "the same body" means for each valid item; the canonical JSON hash of the event by default. */
  hashOf?: (event: EventIn, index: number) => string;
  /** The inbound source the items came from, recorded with each event. */
  sourceId?: string;
}

interface Candidate {
  index: number;
  event: EventIn;
  hash: string;
}

function idOf(item: unknown): string | null {
  const id = item !== null && typeof item === 'object' ? (item as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id.slice(0, 128) : null;
}

export async function acceptBatch(
  deps: AcceptDeps,
  operatorId: string,
  items: readonly unknown[],
  opts: AcceptBatchOptions = {},
): Promise<BatchOutcome> {
  const results: BatchItemResult[] = new Array(items.length);
  const byId = new Map<string, Candidate[]>();
  items.forEach((item, index) => {
    const parsed = EventIn.safeParse(item);
    if (!parsed.success) {
      const issues = errors.validation(parsed.error.issues).details ?? [];
      results[index] = { index, id: idOf(item), status: 'invalid', issues };
      return;
    }
    const event = parsed.data;
    const hash = opts.hashOf ? opts.hashOf(event, index) : bodyHash(event);
    const group = byId.get(event.id) ?? [];
    group.push({ index, event, hash });
    byId.set(event.id, group);
  });
  if (byId.size === 0) return { results, unavailable: false };

  const firsts = [...byId.values()].map((group) => group[0]!);
  let stored: Map<string, StoredState>;
  try {
    stored = await recordEvents(deps.pool, operatorId, firsts, opts.sourceId ?? null);
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
    throw err;
  }

  // Which ids need their workflow started, and which items ride on that start.
  const toStart: Candidate[] = [];
  for (const [id, group] of byId) {
    const row = stored.get(id)!;
    const matching = group.find((c) => c.hash === row.bodyHash);
    if ((row.inserted || !row.acknowledged) && matching) toStart.push(matching);
  }
  const started = await startAll(deps, operatorId, toStart);

  if (started.size > 0) {
    try {
      await markStartedAndAcknowledged(deps.pool, operatorId, [...started]);
    } catch (err) {
      // The workflows run and mark their rows started themselves; the sender is told to retry, and the
      // retry's start of these is an idempotent no-op before they are acknowledged.
      if (isDatabaseUnavailable(err)) throw errors.unavailable('database');
      throw err;
    }
  }

  let unavailable = false;
  for (const [id, group] of byId) {
    const row = stored.get(id)!;
    const workflowId = eventWorkflowId(operatorId, id);
    const needsStart = row.inserted || !row.acknowledged;
    let answeredAccepted = false;
    for (const c of group) {
      if (c.hash !== row.bodyHash) {
        results[c.index] = { index: c.index, id, status: 'conflict' };
      } else if (!needsStart) {
        results[c.index] = { index: c.index, id, status: 'duplicate', workflowId };
      } else if (!started.has(id)) {
        unavailable = true;
        results[c.index] = { index: c.index, id, status: 'unavailable' };
      } else {
        results[c.index] = {
          index: c.index,
          id,
          status: answeredAccepted ? 'duplicate' : 'accepted',
          workflowId,
        };
        answeredAccepted = true;
      }
    }
  }
  return { results, unavailable };
}

/** Starts the workflows, START_CONCURRENCY at a time, stopping at the first failure. Returns the started ids. */
async function startAll(deps: AcceptDeps, operatorId: string, toStart: Candidate[]): Promise<Set<string>> {
  const started = new Set<string>();
  if (toStart.length === 0) return started;
  let client: Client;
  try {
    client = await boundedWait(deps.client(), deps.start.timeoutMs, 'the connection');
  } catch (err) {
    deps.logger.warn(
      { err: { message: (err as Error).message }, operatorId, events: toStart.length },
      'Temporal unreachable; batch kept for retry',
    );
    return started;
  }
  let next = 0;
  let failure: Error | undefined;
  const lane = async () => {
    while (failure === undefined && next < toStart.length) {
      const { event } = toStart[next++]!;
      try {
        await startAcceptedEvent(client, operatorId, event, deps.start);
        started.add(event.id);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, toStart.length) }, lane));
  if (failure) {
    deps.logger.warn(
      { err: { message: failure.message }, operatorId, started: started.size, pending: toStart.length },
      'workflow starts failed; unstarted events kept for retry',
    );
  }
  return started;
}

interface StoredState {
  inserted: boolean;
  bodyHash: string;
  acknowledged: boolean;
}

/**
 * Inserts the events that are new in one statement and reads back the state of the others. Concurrent
 * submissions of one id serialise on the primary key, as in recordEvent.
 */
async function recordEvents(
  db: Queryable,
  operatorId: string,
  candidates: Candidate[],
  sourceId: string | null,
): Promise<Map<string, StoredState>> {
  const ids = candidates.map((c) => c.event.id);
  const inserted = await db.query<{ event_id: string }>(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         source_id)
     SELECT $1, e.event_id, e.type, e.occurred_at, e.customer_id, e.payload, e.body_hash, e.workflow_id, $9
       FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::text[], $8::text[])
            AS e(event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id)
     ON CONFLICT (operator_id, event_id) DO NOTHING
     RETURNING event_id`,
    [
      operatorId,
      ids,
      candidates.map((c) => c.event.type),
      candidates.map((c) => c.event.occurredAt),
      candidates.map((c) => c.event.customerId),
      candidates.map((c) => JSON.stringify(c.event)),
      candidates.map((c) => c.hash),
      ids.map((id) => eventWorkflowId(operatorId, id)),
      sourceId,
    ],
  );
  const state = new Map<string, StoredState>();
  for (const c of candidates) {
    state.set(c.event.id, { inserted: false, bodyHash: c.hash, acknowledged: false });
  }
  const insertedIds = new Set(inserted.rows.map((r) => r.event_id));
  for (const id of insertedIds) state.get(id)!.inserted = true;
  const existing = ids.filter((id) => !insertedIds.has(id));
  if (existing.length > 0) {
    const { rows } = await db.query<{ event_id: string; body_hash: string; acknowledged: boolean }>(
      `SELECT event_id, body_hash, acknowledged_at IS NOT NULL AS acknowledged
         FROM events WHERE operator_id = $1 AND event_id = ANY($2::text[])`,
      [operatorId, existing],
    );
    for (const r of rows)
      state.set(r.event_id, { inserted: false, bodyHash: r.body_hash, acknowledged: r.acknowledged });
    if (rows.length !== existing.length) throw new Error('events vanished between insert and read');
  }
  return state;
}

/** The starts are confirmed and the sender is being told so: markWorkflowStarted for many rows at once. */
async function markStartedAndAcknowledged(
  db: Queryable,
  operatorId: string,
  eventIds: string[],
): Promise<void> {
  await db.query(
    `UPDATE events
        SET workflow_started_at = coalesce(workflow_started_at, now()),
            acknowledged_at = coalesce(acknowledged_at, now())
      WHERE operator_id = $1 AND event_id = ANY($2::text[])`,
    [operatorId, eventIds],
  );
}
