import type { Explanation } from '../domain/commission/explain.js';
import { COMMISSION_EVENT_TYPES } from '../domain/commission/facts.js';
import type { Queryable } from './pool.js';

/** Repository of submitted events: the durable record and the outbox of each event's workflow start. */

export type EventStatus = 'received' | 'processing' | 'processed' | 'failed';

export interface EventFacts {
  /** The attribution the event carries, or inherits from the customer's registration. */
  effectiveAttribution: Record<string, unknown> | null;
  /** This `deposit.completed` is the customer's first deposit. */
  ftd: boolean;
}

export interface StoredEvent {
  operatorId: string;
  eventId: string;
  type: string;
  occurredAt: Date;
  customerId: string;
  payload: Record<string, unknown>;
  bodyHash: string;
  workflowId: string;
  receivedAt: Date;
  workflowStartedAt: Date | null;
  acknowledgedAt: Date | null;
  status: EventStatus;
  processedAt: Date | null;
  facts: EventFacts | null;
  /** The inbound source that sent it; null when it came through the operator's API. */
  sourceId: string | null;
  /** When the commission engine folded it; null until then, and for events it does not read. */
  settledAt: Date | null;
  /** Set aside by a settlement that failed for good (src/commission/settle.ts), with the error. */
  settlementParkedAt: Date | null;
  settlementError: string | null;
  /** The ledger entry a `commission.*` notification reports; null for every other event. */
  commissionEntryId: string | null;
  /**
   * Why the settlement that folded it earned what it did, per rule (src/domain/commission/explain.ts);
   * null before it is settled, and for an event settled before explanations were recorded (migration 014).
   */
  evaluation?: Explanation[] | null;
}

export interface EventRow {
  operator_id: string;
  event_id: string;
  type: string;
  occurred_at: Date;
  customer_id: string;
  payload: Record<string, unknown>;
  body_hash: string;
  workflow_id: string;
  received_at: Date;
  workflow_started_at: Date | null;
  acknowledged_at: Date | null;
  status: EventStatus;
  processed_at: Date | null;
  facts: EventFacts | null;
  source_id: string | null;
  settled_at: Date | null;
  settlement_parked_at: Date | null;
  settlement_error: string | null;
  commission_entry_id: string | null;
  evaluation?: Explanation[] | null;
}

function fromRow(row: EventRow): StoredEvent {
  return {
    operatorId: row.operator_id,
    eventId: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at,
    customerId: row.customer_id,
    payload: row.payload,
    bodyHash: row.body_hash,
    workflowId: row.workflow_id,
    receivedAt: row.received_at,
    workflowStartedAt: row.workflow_started_at,
    acknowledgedAt: row.acknowledged_at,
    status: row.status,
    processedAt: row.processed_at,
    facts: row.facts,
    sourceId: row.source_id,
    settledAt: row.settled_at ?? null,
    settlementParkedAt: row.settlement_parked_at ?? null,
    settlementError: row.settlement_error ?? null,
    commissionEntryId: row.commission_entry_id ?? null,
    evaluation: row.evaluation ?? null,
  };
}

export interface NewEvent {
  operatorId: string;
  eventId: string;
  type: string;
  occurredAt: string;
  customerId: string;
  payload: Record<string, unknown>;
  bodyHash: string;
  workflowId: string;
}

/**
 * The insert of a new event, $1-$8 from newEventValues, a no-op when its (operator, id) exists; the caller
 * adds what it returns (recordEvent here, recordEventToApply in event-application.ts).
 */
export const INSERT_NEW_EVENT = `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload,
                                                     body_hash, workflow_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (operator_id, event_id) DO NOTHING`;

/** A new event's values, $1-$8 of INSERT_NEW_EVENT (and of recordEmittedEvent's insert). */
export function newEventValues(e: NewEvent): unknown[] {
  return [e.operatorId, e.eventId, e.type, e.occurredAt, e.customerId, e.payload, e.bodyHash, e.workflowId];
}

/**
 * Records the event unless one with the same (operator, id) exists. Returns the stored row and whether
 * this call inserted it. Concurrent submissions of one id serialise on the primary key.
 */
export async function recordEvent(
  db: Queryable,
  e: NewEvent,
): Promise<{ inserted: boolean; event: StoredEvent }> {
  const inserted = await db.query<EventRow>(`${INSERT_NEW_EVENT} RETURNING *`, newEventValues(e));
  if (inserted.rows[0]) return { inserted: true, event: fromRow(inserted.rows[0]) };
  const existing = await findEvent(db, e.operatorId, e.eventId);
  if (!existing) throw new Error('event vanished between insert and read');
  return { inserted: false, event: existing };
}

export async function findEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<StoredEvent | null> {
  const { rows } = await db.query<EventRow>('SELECT * FROM events WHERE operator_id = $1 AND event_id = $2', [
    operatorId,
    eventId,
  ]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * The workflow starts are confirmed (one event, or a batch's); `acknowledge` also records that the sender
 * was told 202.
 */
export async function markWorkflowStarted(
  db: Queryable,
  operatorId: string,
  eventIds: string | string[],
  acknowledge: boolean,
): Promise<void> {
  await db.query(
    `UPDATE events
        SET workflow_started_at = coalesce(workflow_started_at, now()),
            acknowledged_at = CASE WHEN $3 THEN coalesce(acknowledged_at, now()) ELSE acknowledged_at END
      WHERE operator_id = $1 AND event_id = ANY($2::text[])`,
    [operatorId, typeof eventIds === 'string' ? [eventIds] : eventIds, acknowledge],
  );
}

/** Events recorded at least `graceMs` ago whose workflow start was never confirmed. */
export async function findUnstartedEvents(
  db: Queryable,
  graceMs: number,
  limit: number,
): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT * FROM events
      WHERE workflow_started_at IS NULL AND received_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY received_at
      LIMIT $2`,
    [graceMs, limit],
  );
  return rows.map(fromRow);
}

/** Parks an event whose settlement fails for good, with its error; returns when it was parked. */
export async function parkEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
  error: string,
): Promise<Date> {
  const { rows } = await db.query<{ parked_at: Date }>(
    `UPDATE events SET settlement_parked_at = now(), settlement_error = $3
      WHERE operator_id = $1 AND event_id = $2
      RETURNING settlement_parked_at AS parked_at`,
    [operatorId, eventId, error],
  );
  return rows[0]!.parked_at;
}

/**
 * Takes a parked event back into settlement (its customer's workflow must then be signalled). Answers
 * what the event was: `parked` (now unparked), `waiting` (not settled yet: signalling again is harmless),
 * `settled`, or null when there is no such commission event.
 */
export async function unparkEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<{ was: 'parked' | 'waiting' | 'settled'; event: StoredEvent } | null> {
  const { rows } = await db.query<EventRow & { was: 'parked' | 'waiting' | 'settled' }>(
    `WITH target AS (
       SELECT event_id, CASE WHEN settlement_parked_at IS NOT NULL THEN 'parked'
                             WHEN settled_at IS NULL THEN 'waiting' ELSE 'settled' END AS was
         FROM events WHERE operator_id = $1 AND event_id = $2 AND type = ANY($3) FOR UPDATE)
     UPDATE events e SET settlement_parked_at = NULL, settlement_error = NULL
       FROM target t
      WHERE e.operator_id = $1 AND e.event_id = t.event_id
  RETURNING e.*, t.was`,
    [operatorId, eventId, COMMISSION_EVENT_TYPES],
  );
  const row = rows[0];
  return row ? { was: row.was, event: fromRow(row) } : null;
}

/** One event of a batch, as recordEventBatch inserts it: its payload is the event as submitted. */
export type NewBatchEvent = Omit<NewEvent, 'operatorId' | 'payload'> & { payload: unknown };

/** What a batch insert found of one event id: whether it inserted it, else the stored row's state. */
export interface RecordedState {
  inserted: boolean;
  bodyHash: string;
  acknowledged: boolean;
}

/**
 * Inserts the events that are new in one statement and reads back the state of the others: recordEvent for
 * many events at once. Concurrent submissions of one id serialise on the primary key. Ids must be distinct.
 */
export async function recordEventBatch(
  db: Queryable,
  operatorId: string,
  events: NewBatchEvent[],
  sourceId: string | null,
): Promise<Map<string, RecordedState>> {
  const ids = events.map((e) => e.eventId);
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
      events.map((e) => e.type),
      events.map((e) => e.occurredAt),
      events.map((e) => e.customerId),
      events.map((e) => JSON.stringify(e.payload)),
      events.map((e) => e.bodyHash),
      events.map((e) => e.workflowId),
      sourceId,
    ],
  );
  const state = new Map<string, RecordedState>();
  for (const e of events)
    state.set(e.eventId, { inserted: false, bodyHash: e.bodyHash, acknowledged: false });
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

/**
 * An event the orchestrator emits (src/ingest/internal-event.ts, src/commission/settle.ts's notifications).
 * With `facts` it is recorded processed (the caller creates its deliveries in the same transaction); else
 * `received`, and its workflow applies it.
 */
export interface NewEmittedEvent extends NewEvent {
  facts: EventFacts | null;
  /** The ledger entry a `commission.*` notification reports. */
  commissionEntryId: string | null;
  /** Recorded settled: the commission engine has nothing to fold from it (its own notifications). */
  settled?: boolean;
  /**
   * Recorded with `facts` (applied already), it is appended to the feed (migrations/024_feed.sql) unless
   * this is false: an event sent to one named endpoint (a test, a resend) is no event of the operator's.
   * Without facts the feed takes it when it is applied.
   */
  inFeed: boolean;
}

/** Records an emitted event unless its (operator, id) exists: emitting one fact twice is a no-op. */
export async function recordEmittedEvent(db: Queryable, e: NewEmittedEvent): Promise<{ inserted: boolean }> {
  const { rows } = await db.query<{ inserted: number }>(
    `WITH recorded AS (
       INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                           status, facts, processed_at, settled_at, commission_entry_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::jsonb IS NULL THEN 'received' ELSE 'processed' END,
               $9::jsonb, CASE WHEN $9::jsonb IS NULL THEN NULL ELSE now() END, CASE WHEN $10 THEN now() END, $11)
       ON CONFLICT (operator_id, event_id) DO NOTHING
       RETURNING event_id, type, facts
     ), feed AS (
       INSERT INTO feed_items (operator_id, event_id, type, affiliate_id)
       SELECT $1, event_id, type, facts->'effectiveAttribution'->>'affiliateId'
         FROM recorded WHERE facts IS NOT NULL AND $12::boolean
     )
     SELECT count(*)::int AS inserted FROM recorded`,
    [...newEventValues(e), e.facts, e.settled ?? false, e.commissionEntryId, e.inFeed],
  );
  return { inserted: (rows[0]?.inserted ?? 0) > 0 };
}

/**
 * What an endpoint filter reads of a stored event (src/domain/routing-filter.ts, filterSubject): its brand
 * and data as sent, its attribution as applied (inherited from the registration), its customer's country.
 */
export async function findFilterSubjectOf(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<{
  brand: unknown;
  attribution: Record<string, unknown> | null;
  data: Record<string, unknown> | null;
  customerCountry: string | null;
} | null> {
  const { rows } = await db.query<{
    payload: { brand?: unknown; attribution?: Record<string, unknown>; data?: Record<string, unknown> };
    facts: EventFacts | null;
    country: string | null;
  }>(
    `SELECT e.payload, e.facts, c.country
       FROM events e
       LEFT JOIN customers c ON c.operator_id = e.operator_id AND c.customer_id = e.customer_id
      WHERE e.operator_id = $1 AND e.event_id = $2`,
    [operatorId, eventId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    brand: r.payload.brand,
    attribution: r.facts?.effectiveAttribution ?? r.payload.attribution ?? null,
    data: r.payload.data ?? null,
    customerCountry: r.country,
  };
}
