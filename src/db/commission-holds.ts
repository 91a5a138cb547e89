import type { AccruedCommission, CommissionStatus } from '../domain/commission/evaluate.js';
import { challengeOfKey } from '../domain/commission/intents.js';
import { format } from '../domain/money.js';
import type { Queryable } from './pool.js';

/**
 * A customer's open commissions, read by index (migration 011): the pending ones with their hold ends
 * (`commission_holds`, kept by a trigger on the ledger), and the open ones a settlement must hand the
 * evaluator. Nothing here reads the customer's closed commissions, however many there are.
 */

export interface CustomerKey {
  operatorId: string;
  customerId: string;
}

/** A pending commission and when its hold ends: the entity workflow keeps one timer for the earliest. */
export interface Hold {
  commissionId: string;
  holdUntil: string;
}

/** The customer's pending commissions with their hold ends, earliest first (at most `limit`). */
export async function holdsOf(db: Queryable, ref: CustomerKey, limit = 100_000): Promise<Hold[]> {
  const { rows } = await db.query<{ commission_id: string; hold_until: Date }>(
    `SELECT commission_id, hold_until FROM commission_holds
      WHERE operator_id = $1 AND customer_id = $2
      ORDER BY hold_until, commission_id
      LIMIT $3`,
    [ref.operatorId, ref.customerId, limit],
  );
  return rows.map((r) => ({ commissionId: r.commission_id, holdUntil: r.hold_until.toISOString() }));
}

/** Pending commissions whose hold has ended by `at`, earliest first, at most `limit`. */
export async function dueHolds(db: Queryable, ref: CustomerKey, at: string, limit: number): Promise<Hold[]> {
  const { rows } = await db.query<{ commission_id: string; hold_until: Date }>(
    `SELECT commission_id, hold_until FROM commission_holds
      WHERE operator_id = $1 AND customer_id = $2 AND hold_until <= $3
      ORDER BY hold_until, commission_id
      LIMIT $4`,
    [ref.operatorId, ref.customerId, at, limit],
  );
  return rows.map((r) => ({ commissionId: r.commission_id, holdUntil: r.hold_until.toISOString() }));
}

/**
 * The statuses of the commissions booked under `keys` (the ledger's unique index on the key), as the
 * ledger has them now: approved by a timer or by hand, rejected, reversed.
 */
export async function statusesByKey(
  db: Queryable,
  operatorId: string,
  keys: readonly string[],
): Promise<Map<string, CommissionStatus>> {
  if (!keys.length) return new Map();
  const { rows } = await db.query<{ idempotency_key: string; status: CommissionStatus }>(
    `SELECT a.idempotency_key, ${STATUS_SQL} AS status
       FROM commission_entries a
      WHERE a.operator_id = $1 AND a.idempotency_key = ANY($2) AND a.kind = 'accrual'`,
    [operatorId, keys],
  );
  return new Map(rows.map((r) => [r.idempotency_key, r.status]));
}

/** An accrual `a`'s status from the entries that name it. */
const STATUS_SQL = `CASE WHEN EXISTS (SELECT 1 FROM commission_entries v
                                     WHERE v.reversal_of = a.id AND v.kind = 'reversal') THEN 'reversed'
          ELSE coalesce((SELECT r.status FROM commission_entries r
                          WHERE r.related_entry = a.id AND r.kind IN ('approval', 'rejection')), 'pending')
     END`;

interface OpenRow {
  rule: AccruedCommission['rule'];
  model: AccruedCommission['model'];
  idempotency_key: string;
  event_id: string;
  amount: string;
  currency: string;
  occurred_at: Date;
  hold_until: Date;
  clawback_until: Date;
  status: CommissionStatus;
}

/**
 * The customer's open commissions (pending, or approved and not reversed) as the evaluator remembers
 * them: all of them, or those booked under `keys` or under a key that starts with one of `prefixes` (a
 * challenge's milestones). Read only for the rare event that compensates many (a fraud flag, a KYC
 * rejection, a self-exclusion) or a challenge's refund.
 */
export async function openCommissions(
  db: Queryable,
  ref: CustomerKey,
  keys: readonly string[] | null,
  prefixes: readonly string[] = [],
): Promise<AccruedCommission[]> {
  const { rows } = await db.query<OpenRow>(
    `SELECT * FROM (
       SELECT a.rule, a.model, a.idempotency_key, a.event_id, a.amount::text AS amount, a.currency,
              a.occurred_at, a.hold_until, a.clawback_until, ${STATUS_SQL} AS status, a.seq
         FROM commission_entries a
        WHERE a.operator_id = $1 AND a.customer_id = $2 AND a.kind = 'accrual'
          AND ($3::text[] IS NULL OR a.idempotency_key = ANY($3) OR a.idempotency_key ^@ ANY($4::text[]))) c
      WHERE status IN ('pending', 'approved')
      ORDER BY seq`,
    [ref.operatorId, ref.customerId, keys, prefixes],
  );
  return rows.map((r) => {
    const challengeId = challengeOfKey(r.idempotency_key)?.challengeId;
    return {
      rule: r.rule,
      model: r.model,
      idempotencyKey: r.idempotency_key,
      causeEventId: r.event_id,
      amount: format(r.amount, r.currency),
      currency: r.currency,
      occurredAt: r.occurred_at.toISOString(),
      holdUntil: r.hold_until.toISOString(),
      clawbackUntil: r.clawback_until.toISOString(),
      status: r.status,
      ...(challengeId ? { challengeId } : {}),
    };
  });
}

/** The idempotency key of an accrual, by its id; null if there is no such accrual. */
export async function accrualKey(db: Queryable, operatorId: string, id: string): Promise<string | null> {
  const { rows } = await db.query<{ idempotency_key: string }>(
    `SELECT idempotency_key FROM commission_entries WHERE operator_id = $1 AND id = $2 AND kind = 'accrual'`,
    [operatorId, id],
  );
  return rows[0]?.idempotency_key ?? null;
}

/** Ids of the accrual and of every entry that names it. */
export async function entriesOf(db: Queryable, commissionId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM commission_entries WHERE id = $1 OR related_entry = $1 OR reversal_of = $1',
    [commissionId],
  );
  return rows.map((r) => r.id);
}
