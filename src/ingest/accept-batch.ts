import type { Client } from '@temporalio/client';
import { errors, type ErrorDetail } from '../errors.js';
import { EventIn } from '../contract/events.js';
import { markWorkflowStarted, recordEventBatch, type RecordedState } from '../db/events.js';
import { isDatabaseUnavailable } from '../db/pool.js';
import { eventWorkflowId } from '../domain/ids.js';
import { startAcceptedEvent } from '../temporal/start-event.js';
import { boundedWait } from '../temporal/timeout.js';
import type { AcceptDeps } from './accept-event.js';
import { bodyHash } from '../body-hash.js';
import { eventsAccepted, eventsRefused, type IntakeSource } from '../metrics.js';

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
  if (byId.size === 0) {
    countIntake(opts.sourceId ? 'inbound' : 'batch', results);
    return { results, unavailable: false };
  }

  const firsts = [...byId.values()].map((group) => group[0]!);
  let stored: Map<string, RecordedState>;
  try {
    stored = await recordEventBatch(
      deps.pool,
      operatorId,
      firsts.map((c) => ({
        eventId: c.event.id,
        type: c.event.type,
        occurredAt: c.event.occurredAt,
        customerId: c.event.customerId,
        payload: c.event,
        bodyHash: c.hash,
        workflowId: eventWorkflowId(operatorId, c.event.id),
      })),
      opts.sourceId ?? null,
    );
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
      await markWorkflowStarted(deps.pool, operatorId, [...started], true);
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
  countIntake(opts.sourceId ? 'inbound' : 'batch', results);
  return { results, unavailable };
}

/** Counts a batch's items in the intake metrics: accepted or duplicate, else refused by status. */
function countIntake(source: IntakeSource, results: readonly BatchItemResult[]): void {
  for (const r of results) {
    if (r.status === 'accepted' || r.status === 'duplicate')
      eventsAccepted.inc({ source, duplicate: String(r.status === 'duplicate') });
    else eventsRefused.inc({ source, reason: r.status });
  }
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
