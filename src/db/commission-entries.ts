import type { CommissionRule, DealModel } from '../domain/commission/deals.js';
import type { CommissionStatus } from '../domain/commission/evaluate.js';
import type { FxQuote } from '../domain/fx.js';
import { compare, format, type Decimal } from '../domain/money.js';
import { findAffiliate } from './affiliates.js';
import { recordFxUses } from './fx-rates.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';

/** The ledger's entries (migration 004): their shape, booking an accrual, finding one by key. See ledger.ts. */

export type EntryKind = 'accrual' | 'approval' | 'rejection' | 'reversal' | 'review';

/** One ledger entry, as booked. */
export interface CommissionEntry {
  id: string;
  /** Total order of booking. */
  seq: string;
  operatorId: string;
  affiliateId: string;
  customerId: string;
  /** The event that caused it; null for approvals and decisions made by hand. */
  eventId: string | null;
  rule: CommissionRule;
  model: DealModel;
  kind: EntryKind;
  /** At least the currency's minor digits: `"50.00"`; negative for a reversal, zero for a review. */
  amount: Decimal;
  currency: string;
  /** The commission's status this entry brought about. */
  status: CommissionStatus;
  occurredAt: Date;
  holdUntil: Date | null;
  clawbackUntil: Date | null;
  reversalOf: string | null;
  relatedEntry: string | null;
  reason: string | null;
  idempotencyKey: string;
  createdAt: Date;
}

export interface EntryRow {
  seq: string;
  id: string;
  operator_id: string;
  affiliate_id: string;
  customer_id: string;
  event_id: string | null;
  rule: CommissionRule;
  model: DealModel;
  kind: EntryKind;
  amount: string;
  currency: string;
  status: CommissionStatus;
  occurred_at: Date;
  hold_until: Date | null;
  clawback_until: Date | null;
  reversal_of: string | null;
  related_entry: string | null;
  reason: string | null;
  idempotency_key: string;
  created_at: Date;
}

export function entryFromRow(r: EntryRow): CommissionEntry {
  return {
    id: r.id,
    seq: r.seq,
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    customerId: r.customer_id,
    eventId: r.event_id,
    rule: r.rule,
    model: r.model,
    kind: r.kind,
    amount: format(r.amount, r.currency),
    currency: r.currency,
    status: r.status,
    occurredAt: r.occurred_at,
    holdUntil: r.hold_until,
    clawbackUntil: r.clawback_until,
    reversalOf: r.reversal_of,
    relatedEntry: r.related_entry,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    createdAt: r.created_at,
  };
}

export type LedgerRefusal =
  | 'not_found'
  | 'affiliate_not_found'
  | 'affiliate_suspended'
  /** The key is taken by an entry with other contents, or another key already pays this cause and rule. */
  | 'idempotency_conflict'
  | 'already_approved'
  | 'already_rejected'
  | 'already_reversed'
  | 'not_approved'
  | 'hold_not_elapsed'
  | 'outside_clawback_window';

/**
 * `booked`: this call added `entry`. `duplicate`: an earlier call with the same intent did; `entry` is
 * that one. `refused`: illegal or impossible; `entry` is the one in the way, if any.
 */
export type LedgerResult =
  | { outcome: 'booked'; entry: CommissionEntry }
  | { outcome: 'duplicate'; entry: CommissionEntry }
  | { outcome: 'refused'; refusal: LedgerRefusal; entry: CommissionEntry | null };

export const refused = (refusal: LedgerRefusal, entry: CommissionEntry | null = null): LedgerResult => ({
  outcome: 'refused',
  refusal,
  entry,
});

/** An accrual to book: the evaluator's accrue intent plus the tenant and the affiliate. */
export interface NewAccrual {
  operatorId: string;
  affiliateId: string;
  customerId: string;
  causeEventId: string;
  rule: CommissionRule;
  model: DealModel;
  /** Positive, in the currency's minor unit. */
  amount: Decimal;
  currency: string;
  occurredAt: string | Date;
  holdUntil: string | Date;
  clawbackUntil: string | Date;
  idempotencyKey: string;
  /** The exchange rates it was judged or computed with: recorded with the entry (migration 017). */
  fx?: readonly FxQuote[] | undefined;
}

export const ms = (t: string | Date) => new Date(t).getTime();

/**
 * Books an accrual, pending until its hold ends, with the exchange rates it used. A replay with the same
 * key and contents is a `duplicate`; the same key with other contents is refused. A suspended affiliate
 * accrues nothing.
 */
export async function bookAccrual(db: Queryable, a: NewAccrual): Promise<LedgerResult> {
  const { rows } = await db.query<EntryRow>(
    `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind, amount,
                                     currency, status, occurred_at, hold_until, clawback_until, idempotency_key)
     SELECT $1, $2, $3, $4, $5, $6, $7, 'accrual', $8, $9, 'pending', $10, $11, $12, $13
      WHERE EXISTS (SELECT 1 FROM affiliates WHERE operator_id = $2 AND affiliate_id = $3 AND status = 'active')
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      newId('commission'),
      a.operatorId,
      a.affiliateId,
      a.customerId,
      a.causeEventId,
      a.rule,
      a.model,
      a.amount,
      a.currency,
      a.occurredAt,
      a.holdUntil,
      a.clawbackUntil,
      a.idempotencyKey,
    ],
  );
  if (rows[0]) {
    await recordFxUses(db, a.operatorId, rows[0].id, a.fx ?? []);
    return { outcome: 'booked', entry: entryFromRow(rows[0]) };
  }

  const existing = await findEntryByKey(db, a.operatorId, a.idempotencyKey);
  if (existing) {
    const same =
      existing.kind === 'accrual' &&
      existing.affiliateId === a.affiliateId &&
      existing.customerId === a.customerId &&
      existing.eventId === a.causeEventId &&
      existing.rule === a.rule &&
      existing.model === a.model &&
      existing.currency === a.currency &&
      compare(existing.amount, a.amount) === 0 &&
      existing.holdUntil?.getTime() === ms(a.holdUntil) &&
      existing.clawbackUntil?.getTime() === ms(a.clawbackUntil);
    return same ? { outcome: 'duplicate', entry: existing } : refused('idempotency_conflict', existing);
  }
  const affiliate = await findAffiliate(db, a.operatorId, a.affiliateId);
  if (!affiliate) return refused('affiliate_not_found');
  if (affiliate.status !== 'active') return refused('affiliate_suspended');
  const { rows: taken } = await db.query<EntryRow>(
    `SELECT * FROM commission_entries
      WHERE operator_id = $1 AND event_id = $2 AND rule = $3 AND kind = 'accrual'`,
    [a.operatorId, a.causeEventId, a.rule],
  );
  return refused('idempotency_conflict', taken[0] ? entryFromRow(taken[0]) : null);
}

/** The entry booked under a key, if any: how an activity finds the accrual an intent names. */
export async function findEntryByKey(
  db: Queryable,
  operatorId: string,
  idempotencyKey: string,
): Promise<CommissionEntry | null> {
  const { rows } = await db.query<EntryRow>(
    'SELECT * FROM commission_entries WHERE operator_id = $1 AND idempotency_key = $2',
    [operatorId, idempotencyKey],
  );
  return rows[0] ? entryFromRow(rows[0]) : null;
}
