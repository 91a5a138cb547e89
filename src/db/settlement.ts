import type { CommissionState } from '../domain/commission/evaluate.js';
import type { Explanation } from '../domain/commission/explain.js';
import type { RevshareAccount } from '../domain/commission/revshare.js';
import type { Queryable } from './pool.js';

/**
 * Repository of a settlement's working rows: the customer's state row (its lock), the events still to
 * settle and their marks, RevShare accounts, revenue days, and the transaction's own limits and
 * savepoints. Each function runs in the caller's transaction (src/commission/settle.ts).
 */

export interface CustomerKey {
  operatorId: string;
  customerId: string;
}

/** A commission event still to settle, as the settlement folds it. */
export interface UnsettledRow {
  event_id: string;
  type: string;
  /** Set when the event was settled before and is evaluated again (see `REEVALUATED_TYPES`). */
  settled_at: Date | null;
  occurred_at: Date;
  payload: { data: Record<string, unknown>; attribution?: { affiliateId?: string } };
  facts: { effectiveAttribution?: { affiliateId?: string } | null } | null;
}

/** Sets statement, lock and idle-in-transaction timeouts for the rest of the transaction only. */
export async function limitTransaction(
  db: Queryable,
  limits: { statementMs: number; lockMs: number; idleMs: number },
): Promise<void> {
  await db.query(
    `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
            set_config('idle_in_transaction_session_timeout', $3, true)`,
    [`${limits.statementMs}`, `${limits.lockMs}`, `${limits.idleMs}`],
  );
}

/** The customer's state row, created on first use (as `initial`) and locked for the transaction. */
export async function lockCustomerState(
  db: Queryable,
  ref: CustomerKey,
  initial: CommissionState,
): Promise<CommissionState> {
  const { rows } = await db.query<{ state: CommissionState }>(
    `INSERT INTO commission_customers (operator_id, customer_id, state) VALUES ($1, $2, $3)
     ON CONFLICT (operator_id, customer_id) DO UPDATE SET updated_at = commission_customers.updated_at
     RETURNING state`,
    [ref.operatorId, ref.customerId, initial],
  );
  return rows[0]!.state;
}

/** Stores the customer's state after a step that settled `newlySettled` events for the first time. */
export async function saveCustomerState(
  db: Queryable,
  ref: CustomerKey,
  state: CommissionState,
  newlySettled: number,
): Promise<void> {
  await db.query(
    `UPDATE commission_customers SET state = $3, settled = settled + $4, updated_at = now()
      WHERE operator_id = $1 AND customer_id = $2`,
    [ref.operatorId, ref.customerId, state, newlySettled],
  );
}

/**
 * The customer's unsettled events of `types`, those settled while the customer had no affiliate once
 * they have one, and those settled while their CPA waited for an exchange rate (`fx_missing`), in
 * event-time order. Three branches, each on its partial index, so a step reads what is open, not the
 * customer's whole history (a trader's 10,000 settled events: 214 ms as one OR over the customer's
 * events, 1.5 ms so).
 */
export async function unsettledEvents(
  db: Queryable,
  ref: CustomerKey,
  types: readonly string[],
): Promise<UnsettledRow[]> {
  const { rows } = await db.query<UnsettledRow>(
    `SELECT * FROM (
       SELECT event_id, type, settled_at, occurred_at, received_at, payload, facts FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_at IS NULL AND settlement_parked_at IS NULL
          AND type = ANY($3)
       UNION ALL
       SELECT event_id, type, settled_at, occurred_at, received_at, payload, facts FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_unattributed AND settlement_parked_at IS NULL
          AND type = ANY($3)
          AND EXISTS (SELECT 1 FROM customers c
                        JOIN affiliates a ON a.operator_id = c.operator_id
                                         AND a.affiliate_id = c.attribution->>'affiliateId'
                       WHERE c.operator_id = $1 AND c.customer_id = $2)
       UNION ALL
       SELECT event_id, type, settled_at, occurred_at, received_at, payload, facts FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND fx_missing IS NOT NULL AND NOT settled_unattributed
          AND settled_at IS NOT NULL AND settlement_parked_at IS NULL AND type = ANY($3)) open
      ORDER BY occurred_at, received_at, event_id`,
    [ref.operatorId, ref.customerId, types],
  );
  return rows;
}

/**
 * Marks events settled (keeping a first settlement's time); `unattributed` ones to be folded again, and
 * those in `fxMissing` with the rate pairs (`EUR/USD`) they wait for (any other loses its mark). Each
 * event's `evaluation` (why it earned what it did, by event id) is written by the same statement.
 */
export async function markSettled(
  db: Queryable,
  operatorId: string,
  settled: readonly string[],
  unattributed: readonly string[],
  evaluations: Readonly<Record<string, Explanation[]>> = {},
  fxMissing: Readonly<Record<string, string[]>> = {},
): Promise<void> {
  await db.query(
    `UPDATE events SET settled_at = coalesce(settled_at, now()), settled_unattributed = (event_id = ANY($3)),
            evaluation = coalesce($4::jsonb -> event_id, evaluation),
            fx_missing = (SELECT array_agg(p) FROM jsonb_array_elements_text($5::jsonb -> event_id) AS p)
      WHERE operator_id = $1 AND event_id = ANY($2)`,
    [operatorId, settled, unattributed, JSON.stringify(evaluations), JSON.stringify(fxMissing)],
  );
}

/** The customer's attribution as their registration bound it, or null. */
export async function customerAttribution(
  db: Queryable,
  ref: CustomerKey,
): Promise<Record<string, unknown> | null> {
  const { rows } = await db.query<{ attribution: Record<string, unknown> | null }>(
    'SELECT attribution FROM customers WHERE operator_id = $1 AND customer_id = $2',
    [ref.operatorId, ref.customerId],
  );
  return rows[0]?.attribution ?? null;
}

/**
 * What a `commission.*` notification says beyond its entry, in one round trip: the customer's attribution
 * and registered country, and the brand of the event that earned the commission (what endpoint filters
 * read). Nulls where unknown.
 */
export async function notificationContext(
  db: Queryable,
  ref: CustomerKey,
  conversionEventId: string | null,
): Promise<{ attribution: Record<string, unknown> | null; country: string | null; brand: string | null }> {
  const { rows } = await db.query<{
    attribution: Record<string, unknown> | null;
    country: string | null;
    brand: string | null;
  }>(
    `SELECT c.attribution, c.country,
            (SELECT payload->>'brand' FROM events WHERE operator_id = $1 AND event_id = $3::text) AS brand
       FROM (SELECT 1) one
       LEFT JOIN customers c ON c.operator_id = $1 AND c.customer_id = $2`,
    [ref.operatorId, ref.customerId, conversionEventId],
  );
  const r = rows[0];
  return { attribution: r?.attribution ?? null, country: r?.country ?? null, brand: r?.brand ?? null };
}

/** The affiliate's RevShare account in `currency`, locked; null before its first revenue. */
export async function revshareAccountForUpdate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  currency: string,
): Promise<RevshareAccount | null> {
  const { rows } = await db.query<{ account: RevshareAccount }>(
    `SELECT account FROM revshare_accounts
      WHERE operator_id = $1 AND affiliate_id = $2 AND currency = $3 FOR UPDATE`,
    [operatorId, affiliateId, currency],
  );
  return rows[0]?.account ?? null;
}

export async function saveRevshareAccount(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  currency: string,
  account: RevshareAccount,
): Promise<void> {
  await db.query(
    `INSERT INTO revshare_accounts (operator_id, affiliate_id, currency, account) VALUES ($1, $2, $3, $4)
     ON CONFLICT (operator_id, affiliate_id, currency)
     DO UPDATE SET account = EXCLUDED.account, updated_at = now()`,
    [operatorId, affiliateId, currency, account],
  );
}

/** Transaction-scoped advisory locks on `keys`, taken in the given order. */
export async function advisoryLocks(db: Queryable, keys: readonly string[]): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [keys]);
}

/** Replaces the customer's revenue figure for a day and currency; returns the figure it replaced. */
export async function replaceRevenueDay(
  db: Queryable,
  ref: CustomerKey,
  day: { date: string; currency: string; ngr: string; eventId: string },
): Promise<string | undefined> {
  const { rows } = await db.query<{ ngr: string }>(
    `SELECT ngr::text FROM revenue_days
      WHERE operator_id = $1 AND customer_id = $2 AND day = $3 AND currency = $4`,
    [ref.operatorId, ref.customerId, day.date, day.currency],
  );
  await db.query(
    `INSERT INTO revenue_days (operator_id, customer_id, day, currency, ngr, event_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (operator_id, customer_id, day, currency)
     DO UPDATE SET ngr = EXCLUDED.ngr, event_id = EXCLUDED.event_id, updated_at = now()`,
    [ref.operatorId, ref.customerId, day.date, day.currency, day.ngr, day.eventId],
  );
  return rows[0]?.ngr;
}

/** Savepoints: one per event a settlement folds. */
export const savepoints = {
  begin: (db: Queryable, name: string) => db.query(`SAVEPOINT ${name}`),
  release: (db: Queryable, name: string) => db.query(`RELEASE SAVEPOINT ${name}`),
  rollback: (db: Queryable, name: string) => db.query(`ROLLBACK TO SAVEPOINT ${name}`),
};

/** How a customer's commissions stand at the end of a step (see `stepStanding`). */
export interface StepStanding {
  /** The earliest pending hold, and how many are pending. */
  nextHold: { commissionId: string; holdUntil: string } | null;
  pending: number;
  /** Parked events, oldest first, at most `parkedListed`. */
  parked: { eventId: string; error: string }[];
  /** Notification events recorded and never started (only when asked for). */
  undispatched: { eventId: string; workflowId: string; type: string }[];
}

/**
 * The customer's earliest hold and pending count (from commission_holds' index: the pending commissions
 * only, never the closed ones), parked events, and, when `withUndispatched`, the notification events a
 * step committed and never started. One statement.
 */
export async function stepStanding(
  db: Queryable,
  ref: CustomerKey,
  withUndispatched: boolean,
  parkedListed: number,
): Promise<StepStanding> {
  const { rows } = await db.query<{
    kind: 'hold' | 'notification' | 'parked';
    id: string;
    hold_until: Date | null;
    workflow_id: string | null;
    type: string | null;
  }>(
    // The number pending travels in the hold row's workflow_id column.
    `(SELECT 'hold' AS kind, h.commission_id AS id, h.hold_until,
             (SELECT count(*) FROM commission_holds c
               WHERE c.operator_id = $1 AND c.customer_id = $2)::text AS workflow_id, NULL::text AS type
        FROM commission_holds h
       WHERE h.operator_id = $1 AND h.customer_id = $2
       ORDER BY h.hold_until, h.commission_id
       LIMIT 1)
     UNION ALL
     SELECT 'notification', e.event_id, NULL, e.workflow_id, e.type
       FROM events e
      WHERE $3::boolean AND e.operator_id = $1 AND e.customer_id = $2
        AND e.commission_entry_id IS NOT NULL AND e.workflow_started_at IS NULL
     UNION ALL
     (SELECT 'parked', e.event_id, e.settlement_parked_at, NULL, e.settlement_error
        FROM events e
       WHERE e.operator_id = $1 AND e.customer_id = $2 AND e.settlement_parked_at IS NOT NULL
       ORDER BY e.settlement_parked_at, e.event_id
       LIMIT $4)
      ORDER BY kind, hold_until, id`,
    [ref.operatorId, ref.customerId, withUndispatched, parkedListed],
  );
  const hold = rows.find((r) => r.kind === 'hold');
  return {
    nextHold: hold ? { commissionId: hold.id, holdUntil: hold.hold_until!.toISOString() } : null,
    pending: hold ? Number(hold.workflow_id) : 0,
    parked: rows.filter((r) => r.kind === 'parked').map((r) => ({ eventId: r.id, error: r.type! })),
    undispatched: rows
      .filter((r) => r.kind === 'notification')
      .map((r) => ({ eventId: r.id, workflowId: r.workflow_id!, type: r.type! })),
  };
}

/** Deliveries cancelled or marked because one of these notification events replaced them. */
export async function deliveriesReplacedBy(
  db: Queryable,
  operatorId: string,
  eventIds: readonly string[],
): Promise<{ id: string; workflow_id: string; last_error: string }[]> {
  const { rows } = await db.query<{ id: string; workflow_id: string; last_error: string }>(
    `SELECT id, workflow_id, last_error FROM deliveries
      WHERE operator_id = $1 AND replaced_by_event_id = ANY($2)`,
    [operatorId, eventIds],
  );
  return rows;
}
