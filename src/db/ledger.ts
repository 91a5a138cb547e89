import type { CommissionRule, DealModel } from '../domain/commission/deals.js';
import type { CommissionStatus } from '../domain/commission/evaluate.js';
import type { FxQuote } from '../domain/fx.js';
import { format, type Decimal } from '../domain/money.js';
import { entryFromRow, type CommissionEntry, type EntryRow } from './commission-entries.js';
import { fxOfEntries } from './fx-rates.js';
import type { Queryable } from './pool.js';
import { afterCursor, NEWEST_FIRST, newestFirst } from './keyset.js';

/**
 * The commission ledger (migration 004): commissions as the API lists them and balances here; affiliates
 * in affiliates.ts, entries and accruals in commission-entries.ts, transitions in
 * commission-transitions.ts, all re-exported from here. Every function takes a
 * `Queryable`, so an activity runs it inside its own transaction with the rest of its writes.
 *
 * The ledger is append-only. A state change is a new entry whose idempotency key is derived from the
 * accrual it acts on (`resolution/<id>` for an approval or a rejection, so they exclude each other;
 * `reversal/<id>`; `review/<id>/<cause>`), so a replayed call finds its own entry and books nothing.
 * Expected refusals (approving a rejected commission, reversing a pending one, a second reversal) come
 * back as `{outcome: 'refused'}`; only faults throw.
 *
 * Transitions lock the accrual row (`SELECT ... FOR UPDATE`), so two compensations of one commission
 * serialise: run them in a transaction at READ COMMITTED (the default; `withTransaction`). Without one,
 * the unique indexes still let only one of two racing entries in, and the loser reports what won.
 */

export {
  findAffiliate,
  upsertAffiliate,
  type Affiliate,
  type AffiliateStatus,
  type AffiliateUpsert,
} from './affiliates.js';
export {
  bookAccrual,
  findEntryByKey,
  type CommissionEntry,
  type EntryKind,
  type LedgerRefusal,
  type LedgerResult,
  type NewAccrual,
} from './commission-entries.js';
export {
  approve,
  compensate,
  flagForReview,
  reject,
  reverse,
  type Compensation,
} from './commission-transitions.js';

/** A commission as the API lists it: an accrual with its current status, or a reversal entry. */
export interface Commission {
  id: string;
  operatorId: string;
  affiliateId: string;
  customerId: string;
  eventId: string | null;
  rule: CommissionRule;
  model: DealModel;
  amount: Decimal;
  currency: string;
  status: CommissionStatus;
  holdUntil: Date | null;
  clawbackUntil: Date | null;
  reversalOf: string | null;
  /** Why it was rejected or reversed (for a reversal entry: why it was made). */
  reason: string | null;
  idempotencyKey: string;
  occurredAt: Date;
  resolvedAt: Date | null;
  reversedAt: Date | null;
  /** How many times it was flagged for review. */
  reviews: number;
  createdAt: Date;
  /** The exchange rates it was judged or computed with (migration 017); empty when none was needed. */
  fx: FxQuote[];
}

interface CommissionRow {
  id: string;
  operator_id: string;
  affiliate_id: string;
  customer_id: string;
  event_id: string | null;
  rule: CommissionRule;
  model: DealModel;
  amount: string;
  currency: string;
  status: CommissionStatus;
  hold_until: Date | null;
  clawback_until: Date | null;
  reversal_of: string | null;
  reason: string | null;
  idempotency_key: string;
  occurred_at: Date;
  resolved_at: Date | null;
  reversed_at: Date | null;
  reviews: number;
  created_at: Date;
}

function commissionFromRow(r: CommissionRow): Commission {
  return {
    id: r.id,
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    customerId: r.customer_id,
    eventId: r.event_id,
    rule: r.rule,
    model: r.model,
    amount: format(r.amount, r.currency),
    currency: r.currency,
    status: r.status,
    holdUntil: r.hold_until,
    clawbackUntil: r.clawback_until,
    reversalOf: r.reversal_of,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    occurredAt: r.occurred_at,
    resolvedAt: r.resolved_at,
    reversedAt: r.reversed_at,
    reviews: r.reviews,
    createdAt: r.created_at,
    fx: [],
  };
}

/** The commissions, each with the exchange rates its entry recorded. */
async function withFx(db: Queryable, operatorId: string, rows: CommissionRow[]): Promise<Commission[]> {
  const fx = await fxOfEntries(
    db,
    operatorId,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ ...commissionFromRow(r), fx: fx.get(r.id) ?? [] }));
}

/**
 * An affiliate's commissions, newest first, keyset-paginated on (created_at, id) like every list: pass
 * `limit + 1` to learn whether there is a next page. `status` filters on the current status; reversal
 * entries count as `reversed`.
 *
 * Without a status, the page's entries are read in order from the affiliate's index and each is looked up
 * in the `commissions` view (`OFFSET 0` keeps the lookup a per-entry index read: joined plainly, PostgreSQL
 * builds the whole view first). A status is a property of the view's joins, so with one the view is read
 * for the whole affiliate and sorted, which is cheaper than a lookup per entry when few match.
 */
export async function listCommissions(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  opts: {
    status?: CommissionStatus | undefined;
    limit: number;
    cursor?: { createdAt: string; id: string } | null;
  },
): Promise<Commission[]> {
  const entries = { createdAt: 'a.created_at', id: 'a.id' };
  const { rows } = await db.query<CommissionRow>(
    opts.status
      ? `SELECT * FROM commissions
          WHERE operator_id = $1 AND affiliate_id = $2 AND status = $3
            AND ${afterCursor(4, 5)}
          ${NEWEST_FIRST}
          LIMIT $6`
      : `SELECT c.* FROM commission_entries a
           CROSS JOIN LATERAL (SELECT * FROM commissions v WHERE v.id = a.id OFFSET 0) c
          WHERE a.operator_id = $1 AND a.affiliate_id = $2 AND a.kind IN ('accrual', 'reversal')
            AND $3::text IS NULL
            AND ${afterCursor(4, 5, entries)}
          ${newestFirst(entries)}
          LIMIT $6`,
    [
      operatorId,
      affiliateId,
      opts.status ?? null,
      opts.cursor?.createdAt ?? null,
      opts.cursor?.id ?? null,
      opts.limit,
    ],
  );
  return withFx(db, operatorId, rows);
}

/** One commission (an accrual or a reversal entry) by id, with its current status. */
export async function getCommission(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<Commission | null> {
  const { rows } = await db.query<CommissionRow>(
    'SELECT * FROM commissions WHERE operator_id = $1 AND id = $2',
    [operatorId, id],
  );
  return rows[0] ? ((await withFx(db, operatorId, rows))[0] ?? null) : null;
}

/** The commissions an event caused (accrued or reversed) or undid (rejected, flagged), for `GET /v1/events/{id}`. */
export async function commissionsOfEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<Commission[]> {
  const { rows } = await db.query<CommissionRow>(
    `SELECT * FROM commissions
      WHERE operator_id = $1
        AND (event_id = $2
             -- a commission this event rejected or flagged: the entry that did it names the accrual
             OR id IN (SELECT related_entry FROM commission_entries
                        WHERE operator_id = $1 AND event_id = $2 AND kind IN ('rejection', 'review')))
      ORDER BY created_at, id`,
    [operatorId, eventId],
  );
  return withFx(db, operatorId, rows);
}

/** Every entry of an affiliate in booking order: the audit trail balances are derived from. */
export async function listEntries(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
): Promise<CommissionEntry[]> {
  const { rows } = await db.query<EntryRow>(
    'SELECT * FROM commission_entries WHERE operator_id = $1 AND affiliate_id = $2 ORDER BY seq',
    [operatorId, affiliateId],
  );
  return rows.map(entryFromRow);
}

export interface Balance {
  currency: string;
  /** Accrued and neither approved nor rejected yet. */
  pending: Decimal;
  /** Ever approved, including what was later reversed. */
  approved: Decimal;
  /** Clawed back: the sum of reversal entries, zero or negative. */
  reversed: Decimal;
  /**
   * What is owed: `approved + reversed`, the approved amounts net of their clawbacks (only an approved
   * commission is reversed, so it is never negative). Lifetime, like the others: nothing here knows about
   * payouts, so a payout system subtracts what it has paid (a reversal after a payout leaves payable below
   * the amount paid: the affiliate's debt).
   */
  payable: Decimal;
}

/** An affiliate's balances per currency, summed from the entries alone (see the migration's bucket table). */
export async function balances(db: Queryable, operatorId: string, affiliateId: string): Promise<Balance[]> {
  const { rows } = await db.query<{
    currency: string;
    pending: string;
    approved: string;
    reversed: string;
    payable: string;
  }>(
    `SELECT currency,
            COALESCE(sum(CASE kind WHEN 'accrual' THEN amount
                                   WHEN 'approval' THEN -amount
                                   WHEN 'rejection' THEN -amount END), 0) AS pending,
            COALESCE(sum(amount) FILTER (WHERE kind = 'approval'), 0) AS approved,
            COALESCE(sum(amount) FILTER (WHERE kind = 'reversal'), 0) AS reversed,
            COALESCE(sum(amount) FILTER (WHERE kind IN ('approval', 'reversal')), 0) AS payable
       FROM commission_entries
      WHERE operator_id = $1 AND affiliate_id = $2
      GROUP BY currency
      ORDER BY currency`,
    [operatorId, affiliateId],
  );
  return rows.map((r) => ({
    currency: r.currency,
    pending: format(r.pending, r.currency),
    approved: format(r.approved, r.currency),
    reversed: format(r.reversed, r.currency),
    payable: format(r.payable, r.currency),
  }));
}
