import { INBOUND_REQUESTS_KEPT } from './inbound-requests.js';
import type { Queryable } from './pool.js';

/**
 * Repository of the retention clean-up (activities/retention.ts): each call deletes at most one batch of
 * expired rows of one table, in one statement (its own short transaction), walking the table in time
 * order from its index (migrations/018_retention.sql). A row kept past its period is stepped over by the
 * cursor, never read again in the same run.
 *
 * What is kept past its period, and why (README "Running in production" -> "Retention"). With its deliveries:
 * - a delivery not finished (pending, retrying), its attempts and its event;
 * - an event whose workflow has not applied it yet (received, processing);
 * - an event that earned a commission still pending or inside its clawback window, and the commission's
 *   own notification events: a later rejection or reversal cancels or skips their deliveries
 *   (src/db/conversion-replacement.ts) and renders the conversion it undoes (src/db/postback-context.ts);
 * - a conversion a chargeback or refund can undo (deposit, challenge purchase), for the conversions
 *   period: the reversal postback names it and checks its delivery to the tracker.
 * The event row alone (its deliveries go):
 * - an event the commission engine may still read: parked for an operator to re-settle, or a commission
 *   event not yet settled (or settled before its customer had an affiliate) while its customer is
 *   attributed to an affiliate the operator has set up;
 * - a registration that carries an attribution, unless its customer is bound by another event: it is the
 *   binding the customer's later events fall back to (findBindingRegistration).
 * The ledger (commission_entries) is never deleted.
 */

export interface RetentionPeriods {
  attemptsMs: number;
  deliveriesMs: number;
  eventsMs: number;
  conversionsMs: number;
  inboundMs: number;
}

/** One clean-up run's input (the retention Schedule's argument): the periods and the batch size. */
export interface CleanUpInput extends RetentionPeriods {
  batchSize: number;
}

/** Event types read by the commission engine, and conversions a negative event can undo. */
export interface RetentionTypes {
  commissionTypes: readonly string[];
  conversionTypes: readonly string[];
}

/** Where a table's walk stands: the last row looked at, as its index orders it (times as PostgreSQL text). */
export type Cursor = readonly [string, ...string[]];

export interface Batch {
  /** Rows of the table deleted; for deliveries, their attempts deleted with them too. */
  deleted: number;
  attemptsDeleted?: number;
  /** The next call's cursor; null when the walk is over (no expired row left past it). */
  next: Cursor | null;
}

const FINISHED = `('succeeded', 'failed', 'cancelled')`;
const AGO = (ms: string) => `now() - ${ms}::bigint * interval '1 millisecond'`;

/** A commission (accrual `a`) a later rejection or reversal may still undo: pending, or inside its clawback. */
const OPEN = (a: string) =>
  `(${a}.clawback_until > now() OR EXISTS (SELECT 1 FROM commission_holds h WHERE h.commission_id = ${a}.id))`;

/**
 * Why event `e` is kept past its period together with its deliveries (see the module comment), with $1
 * the conversion types and $2 the conversions period in ms: a later rejection, reversal or chargeback
 * reads those deliveries too.
 */
const KEPT_WITH_DELIVERIES = (e: string) => `(
  ${e}.status IN ('received', 'processing')
  OR (${e}.type = ANY($1::text[]) AND ${e}.received_at >= ${AGO('$2')})
  OR EXISTS (SELECT 1 FROM commission_entries a
              WHERE a.operator_id = ${e}.operator_id AND a.event_id = ${e}.event_id AND a.kind = 'accrual'
                AND ${OPEN('a')})
  OR (${e}.commission_entry_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM commission_entries n
          JOIN commission_entries a ON a.id = coalesce(n.related_entry, n.reversal_of, n.id)
         WHERE n.id = ${e}.commission_entry_id AND ${OPEN('a')}))
)`;

/**
 * Why event `e` itself is kept: the above, or the commission engine (the commission types in $3) or an
 * attribution may still read it.
 */
const KEPT = (e: string) => `(
  ${KEPT_WITH_DELIVERIES(e)}
  OR ${e}.settlement_parked_at IS NOT NULL
  OR ((${e}.settled_at IS NULL OR ${e}.settled_unattributed) AND ${e}.type = ANY($3::text[]) AND EXISTS (
        SELECT 1 FROM customers c
          JOIN affiliates f ON f.operator_id = c.operator_id AND f.affiliate_id = c.attribution->>'affiliateId'
         WHERE c.operator_id = ${e}.operator_id AND c.customer_id = ${e}.customer_id))
  OR (${e}.type = 'customer.registered' AND ${e}.payload ? 'attribution' AND NOT EXISTS (
        SELECT 1 FROM customers c
         WHERE c.operator_id = ${e}.operator_id AND c.customer_id = ${e}.customer_id
           AND c.attribution IS NOT NULL AND c.attributed_by_event_id IS DISTINCT FROM ${e}.event_id))
)`;

/** Attempts of finished deliveries that started before the attempts period. */
export async function deleteExpiredAttempts(
  db: Queryable,
  periods: RetentionPeriods,
  limit: number,
  after: Cursor = ['-infinity', '', '0'],
): Promise<Batch> {
  const { rows } = await db.query<{ deleted: number; n: number; t: string; k1: string; k2: string }>(
    `WITH batch AS (
       SELECT delivery_id, number, started_at FROM delivery_attempts
        WHERE started_at < ${AGO('$1')}
          AND (started_at, delivery_id, number) > ($3::timestamptz, $4::text, $5::int)
        ORDER BY started_at, delivery_id, number
        LIMIT $2
     ), gone AS (
       DELETE FROM delivery_attempts x USING batch b, deliveries d
        WHERE x.delivery_id = b.delivery_id AND x.number = b.number
          AND d.id = x.delivery_id AND d.status IN ${FINISHED}
       RETURNING 1
     ), last AS (
       SELECT started_at::text AS t, delivery_id AS k1, number::text AS k2, count(*) OVER () AS n FROM batch
        ORDER BY started_at DESC, delivery_id DESC, number DESC LIMIT 1
     )
     SELECT (SELECT count(*) FROM gone)::int AS deleted, last.n::int, last.t, last.k1, last.k2 FROM last`,
    [periods.attemptsMs, limit, ...after],
  );
  return batchOf(rows[0], limit, (r) => [r.t, r.k1, r.k2]);
}

/**
 * Finished deliveries that ended before the deliveries period, with their attempts, unless their event is
 * kept. A delivery a worker holds right now (a redrive) is skipped, not waited for.
 */
export async function deleteExpiredDeliveries(
  db: Queryable,
  periods: RetentionPeriods,
  types: RetentionTypes,
  limit: number,
  after: Cursor = ['-infinity', ''],
): Promise<Batch> {
  const { rows } = await db.query<{ deleted: number; attempts: number; n: number; t: string; k1: string }>(
    `WITH batch AS (
       SELECT id, completed_at FROM deliveries
        WHERE completed_at IS NOT NULL AND completed_at < ${AGO('$3')}
          AND (completed_at, id) > ($5::timestamptz, $6::text)
        ORDER BY completed_at, id
        LIMIT $4
     ), doomed AS (
       SELECT d.id FROM batch b
         JOIN deliveries d ON d.id = b.id
         JOIN events e ON e.operator_id = d.operator_id AND e.event_id = d.event_id
        WHERE d.status IN ${FINISHED} AND NOT ${KEPT_WITH_DELIVERIES('e')}
          FOR UPDATE OF d SKIP LOCKED
     ), attempts AS (
       DELETE FROM delivery_attempts x USING doomed WHERE x.delivery_id = doomed.id RETURNING 1
     ), gone AS (
       DELETE FROM deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1
     ), last AS (
       SELECT completed_at::text AS t, id AS k1, count(*) OVER () AS n FROM batch
        ORDER BY completed_at DESC, id DESC LIMIT 1
     )
     SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM attempts)::int AS attempts,
            last.n::int, last.t, last.k1
       FROM last`,
    [types.conversionTypes, periods.conversionsMs, periods.deliveriesMs, limit, ...after],
  );
  const batch = batchOf(rows[0], limit, (r) => [r.t, r.k1]);
  return { ...batch, attemptsDeleted: rows[0]?.attempts ?? 0 };
}

/** Events accepted before the events period that have no delivery left and are not kept. */
export async function deleteExpiredEvents(
  db: Queryable,
  periods: RetentionPeriods,
  types: RetentionTypes,
  limit: number,
  after: Cursor = ['-infinity', '', ''],
): Promise<Batch> {
  const { rows } = await db.query<{ deleted: number; n: number; t: string; k1: string; k2: string }>(
    `WITH batch AS (
       SELECT operator_id, event_id, received_at FROM events
        WHERE received_at < ${AGO('$4')}
          AND (received_at, operator_id, event_id) > ($6::timestamptz, $7::text, $8::text)
        ORDER BY received_at, operator_id, event_id
        LIMIT $5
     ), gone AS (
       DELETE FROM events e USING batch b
        WHERE e.operator_id = b.operator_id AND e.event_id = b.event_id
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.operator_id = e.operator_id AND d.event_id = e.event_id)
          AND NOT ${KEPT('e')}
       RETURNING 1
     ), last AS (
       SELECT received_at::text AS t, operator_id AS k1, event_id AS k2, count(*) OVER () AS n FROM batch
        ORDER BY received_at DESC, operator_id DESC, event_id DESC LIMIT 1
     )
     SELECT (SELECT count(*) FROM gone)::int AS deleted, last.n::int, last.t, last.k1, last.k2 FROM last`,
    [types.conversionTypes, periods.conversionsMs, types.commissionTypes, periods.eventsMs, limit, ...after],
  );
  return batchOf(rows[0], limit, (r) => [r.t, r.k1, r.k2]);
}

/** Inbound replay records signed before the inbound period: a replay of them is refused as stale anyway. */
export function deleteExpiredInboundMessages(
  db: Queryable,
  periods: RetentionPeriods,
  limit: number,
): Promise<Batch> {
  return deleteWhere(db, 'inbound_messages', ['source_id', 'message_id', 'signed_at'], {
    where: `signed_at < ${AGO('$1')} ORDER BY signed_at`,
    params: [periods.inboundMs],
    limit,
  });
}

/** Inbound sources' request log (GET /v1/sources/{id}/requests) past its 7 days, for sources gone quiet. */
export function deleteExpiredInboundRequests(db: Queryable, limit: number): Promise<Batch> {
  return deleteWhere(db, 'inbound_requests', ['id'], {
    where: `created_at < now() - interval '${INBOUND_REQUESTS_KEPT}'`,
    params: [],
    limit,
  });
}

/**
 * Endpoint replays (POST /v1/endpoints/{id}/replay) that ended as long ago as a delivery is kept: their
 * progress and counts describe deliveries that are gone by then. A replay still running is kept.
 */
export function deleteExpiredReplays(
  db: Queryable,
  periods: RetentionPeriods,
  limit: number,
): Promise<Batch> {
  return deleteWhere(db, 'endpoint_replays', ['id'], {
    where: `status <> 'running' AND coalesce(completed_at, updated_at) < ${AGO('$1')}`,
    params: [periods.deliveriesMs],
    limit,
  });
}

/**
 * Deletes at most `limit` rows of a table that keeps nothing past its period: those `where` picks (its
 * parameters `$1..`, the limit after them), matched by the table's key columns. Nothing is kept back, so
 * a short batch means none is left and ends the walk.
 */
async function deleteWhere(
  db: Queryable,
  table: string,
  key: string[],
  q: { where: string; params: unknown[]; limit: number },
): Promise<Batch> {
  const { rows } = await db.query<{ deleted: number }>(
    `WITH gone AS (
       DELETE FROM ${table} WHERE (${key.join(', ')}) IN (
         SELECT ${key.join(', ')} FROM ${table} WHERE ${q.where} LIMIT $${q.params.length + 1})
       RETURNING 1
     )
     SELECT count(*)::int AS deleted FROM gone`,
    [...q.params, q.limit],
  );
  const deleted = rows[0]?.deleted ?? 0;
  return { deleted, next: deleted < q.limit ? null : ['-infinity'] };
}

/** The batch's outcome: a full batch goes on from its last row, a short one ends the walk. */
function batchOf<R extends { deleted: number; n: number }>(
  row: R | undefined,
  limit: number,
  cursor: (r: R) => string[],
): Batch {
  if (!row) return { deleted: 0, next: null };
  const [first, ...rest] = cursor(row);
  return { deleted: row.deleted, next: row.n < limit ? null : [first!, ...rest] };
}
