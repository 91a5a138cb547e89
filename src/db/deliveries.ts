import type { ResolvedRetryPolicy } from '../domain/retry-policy.js';
import type { ClauseResult, RoutingFilter } from '../domain/routing-filter.js';
import { columnList } from './columns.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';
import { afterCursor, createdWithin, NEWEST_FIRST } from './keyset.js';
import { releaseSlotSql } from './rate-limit.js';

/** Repository of deliveries (one per event x endpoint x delivered type) and their attempt log. */

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: readonly DeliveryStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface Delivery {
  id: string;
  operatorId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: DeliveryStatus;
  retryPolicy: ResolvedRetryPolicy;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  workflowId: string;
  redriveCount: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  /** A rejection or reversal undid this conversion before it was delivered: it is never sent again. */
  replacedByEventId: string | null;
  /** The attempt a worker is sending right now, if any. */
  inFlightAttempt: number | null;
  /** Since when it waits for its endpoint's breaker (no attempt spent meanwhile); null when it does not. */
  breakerWaitSince: Date | null;
  /** Why a filtered endpoint got it: the filter judged and each clause; null when the endpoint had none. */
  routing: DeliveryRouting | null;
}

export interface DeliveryRouting {
  filter: RoutingFilter;
  reasons: ClauseResult[];
}

interface DeliveryRow {
  id: string;
  operator_id: string;
  event_id: string;
  endpoint_id: string;
  event_type: string;
  status: DeliveryStatus;
  retry_policy: ResolvedRetryPolicy;
  attempt_count: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  workflow_id: string;
  redrive_count: number;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  replaced_by_event_id: string | null;
  in_flight_attempt: number | null;
  breaker_wait_since: Date | null;
  routing?: DeliveryRouting | null;
}

function fromRow(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    operatorId: r.operator_id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    eventType: r.event_type,
    status: r.status,
    retryPolicy: r.retry_policy,
    attemptCount: r.attempt_count,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    workflowId: r.workflow_id,
    redriveCount: r.redrive_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
    replacedByEventId: r.replaced_by_event_id,
    inFlightAttempt: r.in_flight_attempt ?? null,
    breakerWaitSince: r.breaker_wait_since ?? null,
    routing: r.routing ?? null,
  };
}

export interface NewDelivery {
  endpointId: string;
  eventType: string;
  retryPolicy: ResolvedRetryPolicy;
  /** Why the endpoint's filter let the event through; absent when it has none. */
  routing?: DeliveryRouting | null;
}

// prettier-ignore
const DELIVERY_COLUMNS = columnList<DeliveryRow>({
  id: true, operator_id: true, event_id: true, endpoint_id: true, event_type: true, status: true,
  retry_policy: true, attempt_count: true, next_attempt_at: true, last_error: true, workflow_id: true,
  redrive_count: true, created_at: true, updated_at: true, completed_at: true, replaced_by_event_id: true,
  in_flight_attempt: true, breaker_wait_since: true, routing: true,
});

/**
 * ensureDeliveries' statement, named (every event's application runs it; planning cost about half of
 * running it): one text whatever the number of deliveries, which come as one JSON array ($4), and its
 * columns listed, never `*` (a prepared statement whose result type a migration changes fails).
 */
const ENSURE_DELIVERIES = {
  name: 'deliveries:ensure-1',
  text: `WITH inserted AS (
           INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, retry_policy, workflow_id,
                                   routing)
           SELECT w.id, $1, $2, w.endpoint_id, w.event_type, w.retry_policy, $3, w.routing
             FROM jsonb_to_recordset($4::jsonb)
                  AS w(id text, endpoint_id text, event_type text, retry_policy jsonb, routing jsonb)
           ON CONFLICT (operator_id, event_id, endpoint_id, event_type) DO NOTHING
           RETURNING ${DELIVERY_COLUMNS}
         )
         SELECT ${DELIVERY_COLUMNS}, true AS created FROM inserted
         UNION ALL
         SELECT ${DELIVERY_COLUMNS}, false AS created FROM deliveries WHERE operator_id = $1 AND event_id = $2
         ORDER BY created_at, id`,
};

/**
 * Creates the event's deliveries that do not exist yet (replay-safe) and returns all of them, ordered as
 * deliveriesOfEvent orders them.
 *
 * One round trip: the rows the INSERT creates come back through RETURNING, and the rows that existed
 * before come from the same statement's snapshot (a data-modifying CTE's rows are not visible to the rest
 * of its statement, so nothing is returned twice). Only when some wanted delivery already existed (a
 * replay) is the event's set read again, in a fresh statement: a row that conflicted may have been
 * committed by another transaction after this statement's snapshot was taken.
 */
export async function ensureDeliveries(
  db: Queryable,
  operatorId: string,
  eventId: string,
  workflowId: string,
  wanted: NewDelivery[],
): Promise<Delivery[]> {
  if (!wanted.length) return deliveriesOfEvent(db, operatorId, eventId);
  const newRows = wanted.map((d) => ({
    id: newId('delivery'),
    endpoint_id: d.endpointId,
    event_type: d.eventType,
    retry_policy: d.retryPolicy,
    routing: d.routing ?? null,
  }));
  const { rows } = await db.query<DeliveryRow & { created: boolean }>({
    ...ENSURE_DELIVERIES,
    values: [operatorId, eventId, workflowId, JSON.stringify(newRows)],
  });
  const createdCount = rows.filter((r) => r.created).length;
  if (createdCount < new Set(wanted.map((d) => `${d.endpointId}\u0000${d.eventType}`)).size) {
    return deliveriesOfEvent(db, operatorId, eventId);
  }
  return rows.map(fromRow);
}

export async function deliveriesOfEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    'SELECT * FROM deliveries WHERE operator_id = $1 AND event_id = $2 ORDER BY created_at, id',
    [operatorId, eventId],
  );
  return rows.map(fromRow);
}

/**
 * SQL condition on a delivery `d`: with parameter `$p` null, true; else the delivery is affiliate `$p`'s.
 * It is when its endpoint is scoped to that affiliate now, and has been without a break since the event
 * was accepted (endpoint_subscriptions, as of the event's received_at): moving an endpoint to another
 * affiliate never shows the new one the old one's deliveries.
 */
function ofAffiliate(p: number): string {
  return `($${p}::text IS NULL OR EXISTS (
    SELECT 1 FROM endpoints e JOIN events ev ON ev.operator_id = d.operator_id AND ev.event_id = d.event_id
     WHERE e.id = d.endpoint_id AND e.affiliate_id = $${p} AND e.deleted_at IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM endpoint_subscriptions s
          WHERE s.endpoint_id = d.endpoint_id AND s.affiliate_id IS DISTINCT FROM $${p}
            AND s.valid_from >= coalesce(
                  (SELECT max(v.valid_from) FROM endpoint_subscriptions v
                    WHERE v.endpoint_id = d.endpoint_id AND v.valid_from <= ev.received_at),
                  '-infinity'))))`;
}

/** The operator's endpoints scoped to the affiliate now (not deleted): where its deliveries are found. */
async function affiliateEndpointIds(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM endpoints WHERE operator_id = $1 AND affiliate_id = $2 AND deleted_at IS NULL ORDER BY id`,
    [operatorId, affiliateId],
  );
  return rows.map((r) => r.id);
}

/** One delivery of the operator; with `affiliateId`, only if it is that affiliate's (ofAffiliate). */
export async function findDelivery(
  db: Queryable,
  operatorId: string,
  id: string,
  affiliateId: string | null = null,
): Promise<Delivery | null> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT * FROM deliveries d WHERE d.operator_id = $1 AND d.id = $2 AND ${ofAffiliate(3)}`,
    [operatorId, id, affiliateId],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus | undefined;
  endpointId?: string | undefined;
  eventId?: string | undefined;
  eventType?: string | undefined;
  since?: string | undefined;
  /** Created before this instant (with `since`, a window [since, until)). */
  until?: string | undefined;
  /** Only this affiliate's deliveries (ofAffiliate): what its portal link shows. */
  affiliateId?: string | undefined;
}

/**
 * Newest first, keyset-paginated on (created_at, id). With `affiliateId`, each of the affiliate's endpoints
 * gives its newest `limit` in order and the page is the newest `limit` of those: the endpoint narrows the
 * read first, where filtering the operator's whole list row by row on ofAffiliate read all of it for an
 * affiliate with few deliveries (about 0.7 s at 100,000). The endpoints are read first and named one by one
 * (not joined), so PostgreSQL plans each from its own statistics: joined, it planned every endpoint as the
 * average one, and read and sorted all of a large endpoint's deliveries for a page.
 */
export async function listDeliveries(
  db: Queryable,
  operatorId: string,
  filter: DeliveryFilter,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<Delivery[]> {
  const params: unknown[] = [
    operatorId,
    filter.status ?? null,
    filter.endpointId ?? null,
    filter.eventId ?? null,
    filter.eventType ?? null,
    filter.since ?? null,
    cursor?.createdAt ?? null,
    cursor?.id ?? null,
    limit,
    filter.affiliateId ?? null,
    filter.until ?? null,
  ];
  const matches = `operator_id = $1
        AND ($2::text IS NULL OR status = $2)
        AND ($3::text IS NULL OR endpoint_id = $3)
        AND ($4::text IS NULL OR event_id = $4)
        AND ($5::text IS NULL OR event_type = $5)
        AND ${createdWithin(6, 11)}
        AND ${afterCursor(7, 8)}`;
  let sql = `SELECT * FROM deliveries d
        WHERE ${matches} AND $10::text IS NULL
        ${NEWEST_FIRST}
        LIMIT $9`;
  if (filter.affiliateId) {
    const endpoints = await affiliateEndpointIds(db, operatorId, filter.affiliateId);
    if (!endpoints.length) return [];
    const branches = endpoints.map(
      (id) => `(SELECT * FROM deliveries d
          WHERE endpoint_id = $${params.push(id)} AND ${matches} AND ${ofAffiliate(10)}
          ${NEWEST_FIRST}
          LIMIT $9)`,
    );
    sql = `SELECT * FROM (${branches.join(' UNION ALL ')}) d ${NEWEST_FIRST} LIMIT $9`;
  }
  const { rows } = await db.query<DeliveryRow>(sql, params);
  return rows.map(fromRow);
}

/**
 * Finishes a delivery without an attempt (cancelled, or its endpoint went away), in one statement: its
 * in-flight mark goes, and a send slot it reserved and will not use is released.
 */
export async function finishDelivery(
  db: Queryable,
  deliveryId: string,
  status: 'cancelled' | 'failed',
  reason: string,
): Promise<void> {
  await db.query(
    `WITH prior AS (
       SELECT id, endpoint_id, slot_at FROM deliveries
        WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled') FOR UPDATE
     ), released AS (
       ${releaseSlotSql('prior')}
     )
     UPDATE deliveries d SET status = $2, last_error = $3, next_attempt_at = NULL,
            in_flight_attempt = NULL, in_flight_since = NULL, slot_at = NULL, breaker_wait_since = NULL,
            completed_at = coalesce(completed_at, now()), updated_at = now()
       FROM prior p
      WHERE d.id = p.id`,
    [deliveryId, status, reason],
  );
}

/** Notes that the delivery is being cancelled by request, so an attempt on the wire aborts its request. */
export async function requestCancel(db: Queryable, deliveryId: string): Promise<void> {
  await db.query('UPDATE deliveries SET cancel_requested_at = now() WHERE id = $1', [deliveryId]);
}

/** Whether a running attempt must stop: cancelled by request, or its endpoint disabled or deleted. */
export async function mustAbort(db: Queryable, deliveryId: string): Promise<boolean> {
  const { rows } = await db.query<{ abort: boolean }>(
    `SELECT d.cancel_requested_at IS NOT NULL OR NOT e.enabled OR e.deleted_at IS NOT NULL AS abort
       FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`,
    [deliveryId],
  );
  return rows[0]?.abort ?? false;
}

/** Puts failed deliveries back to pending for a redrive; returns those it moved. */
export async function reopenFailedDeliveries(
  db: Queryable,
  operatorId: string,
  ids: string[],
): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    `UPDATE deliveries SET status = 'pending', redrive_count = redrive_count + 1, next_attempt_at = NULL,
            schedule_started_at = now(), completed_at = NULL, updated_at = now()
      WHERE operator_id = $1 AND id = ANY($2) AND status = 'failed' AND replaced_by_event_id IS NULL
      RETURNING *`,
    [operatorId, ids],
  );
  return rows.map(fromRow);
}

/**
 * Puts ended deliveries back to pending for a replay (src/db/replays.ts): failed, cancelled, and succeeded
 * ones too (sent again under the same webhook-id); never one a later event replaced. Returns those it moved.
 */
export async function reopenForReplay(db: Queryable, operatorId: string, ids: string[]): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    `UPDATE deliveries SET status = 'pending', redrive_count = redrive_count + 1, next_attempt_at = NULL,
            schedule_started_at = now(), completed_at = NULL, cancel_requested_at = NULL, updated_at = now()
      WHERE operator_id = $1 AND id = ANY($2) AND status IN ('failed', 'cancelled', 'succeeded')
        AND replaced_by_event_id IS NULL
      RETURNING *`,
    [operatorId, ids],
  );
  return rows.map(fromRow);
}

/** The deliveries with these ids that are still pending (a replay's page, signalled again). */
export async function pendingDeliveries(db: Queryable, ids: string[]): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT * FROM deliveries WHERE id = ANY($1) AND status = 'pending' ORDER BY created_at, id`,
    [ids],
  );
  return rows.map(fromRow);
}

/** Undoes reopenFailedDeliveries for deliveries that could not be handed to their workflow: failed again. */
export async function returnToFailed(db: Queryable, ids: string[]): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'failed', redrive_count = redrive_count - 1, completed_at = now()
      WHERE id = ANY($1) AND status = 'pending' AND attempt_count > 0`,
    [ids],
  );
}

/** Failed deliveries of one endpoint whose last change falls in [since, until), oldest first. */
export async function failedDeliveryIds(
  db: Queryable,
  operatorId: string,
  endpointId: string,
  since: string,
  until: string,
  afterId: string | null,
  limit: number,
): Promise<{ id: string; eventId: string; workflowId: string }[]> {
  const { rows } = await db.query<{ id: string; event_id: string; workflow_id: string }>(
    `SELECT id, event_id, workflow_id FROM deliveries
      WHERE operator_id = $1 AND endpoint_id = $2 AND status = 'failed' AND replaced_by_event_id IS NULL
        AND created_at >= $3 AND created_at < $4 AND ($5::text IS NULL OR id > $5)
      ORDER BY id LIMIT $6`,
    [operatorId, endpointId, since, until, afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, eventId: r.event_id, workflowId: r.workflow_id }));
}
