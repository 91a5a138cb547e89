import type { Attribution, CustomerBinding } from '../domain/attribution.js';
import type { FtdClaim } from '../domain/first-deposit.js';
import type { Queryable } from './pool.js';

/**
 * Repository of customers: what is known of each (operator, customer) across its events, the attribution
 * it is bound to and its first-time deposit. Rows are created by the first event of a customer that is
 * applied (activities/apply-event.ts) and decided under the row lock, so the customer's events serialise.
 *
 * The applying transaction's statements are named prepared statements (see src/db/events.ts,
 * APPLY_STATEMENTS, for why); they keep explicit column lists so a migration cannot break a running process.
 */
const STATEMENTS = {
  // A new customer is created locked (by its insert) and, for a registration that binds it, bound in the
  // same statement; RETURNING answers only when it was new. A customer that exists is read by `lock`, in a
  // statement of its own: its snapshot must be newer than a concurrent insert this one waited for.
  ensure: {
    name: 'apply-event:ensure-customer-2',
    text: `INSERT INTO customers (operator_id, customer_id, attribution, attributed_by_event_id, country, registered_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING
           RETURNING attribution, ftd_event_id, country`,
  },
  lock: {
    name: 'apply-event:lock-customer-2',
    text: `SELECT attribution, ftd_event_id, country FROM customers
            WHERE operator_id = $1 AND customer_id = $2 FOR UPDATE`,
  },
  bind: {
    name: 'apply-event:attribute',
    text: `UPDATE customers SET attribution = $3, attributed_by_event_id = $4, country = $5, registered_at = $6,
                  updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
  },
  claimFtd: {
    name: 'apply-event:claim-ftd',
    text: `UPDATE customers SET ftd_event_id = $3, ftd_deposit_id = $4, ftd_amount = $5, ftd_currency = $6,
                  ftd_at = $7, updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
  },
} as const;

/** A customer as an event's application reads it, under the row lock. */
export interface LockedCustomer {
  attribution: Attribution | null;
  /** The event that claimed the customer's FTD; null while it has none. */
  ftdEventId: string | null;
  /** The country its registration reported; null before it is bound (what endpoint filters read). */
  country: string | null;
}

/**
 * Creates the customer's row if it is new and locks it for the rest of the transaction: concurrent events
 * of one customer wait here for each other. `bindIfNew`, a registration's binding, is written with a new
 * row (`bound`: one round trip instead of three); a customer that exists is returned as it is, for the
 * caller to bind if it must.
 */
export async function lockCustomer(
  tx: Queryable,
  operatorId: string,
  customerId: string,
  bindIfNew?: CustomerBinding | null,
): Promise<LockedCustomer & { bound: boolean }> {
  type Row = { attribution: Attribution | null; ftd_event_id: string | null; country: string | null };
  const b = bindIfNew ?? null;
  const created = await tx.query<Row>({
    ...STATEMENTS.ensure,
    values: [
      operatorId,
      customerId,
      b?.attribution ?? null,
      b?.byEventId ?? null,
      b?.country ?? null,
      b?.registeredAt ?? null,
    ],
  });
  const row =
    created.rows[0] ??
    (await tx.query<Row>({ ...STATEMENTS.lock, values: [operatorId, customerId] })).rows[0]!;
  return {
    attribution: row.attribution,
    ftdEventId: row.ftd_event_id,
    country: row.country,
    bound: !!b && created.rows.length > 0,
  };
}

/** Binds the customer to its registration's attribution (and records the registration's country and time). */
export async function bindCustomer(
  tx: Queryable,
  operatorId: string,
  customerId: string,
  binding: CustomerBinding,
): Promise<void> {
  await tx.query({
    ...STATEMENTS.bind,
    values: [
      operatorId,
      customerId,
      binding.attribution,
      binding.byEventId,
      binding.country,
      binding.registeredAt,
    ],
  });
}

/** Records the customer's first-time deposit. Call under the row lock (lockCustomer), with no FTD recorded. */
export async function claimFirstDeposit(
  tx: Queryable,
  operatorId: string,
  customerId: string,
  claim: FtdClaim,
): Promise<void> {
  await tx.query({
    ...STATEMENTS.claimFtd,
    values: [operatorId, customerId, claim.eventId, claim.depositId, claim.amount, claim.currency, claim.at],
  });
}

/** The attribution the customer is bound to; null when unbound or unknown. */
export async function customerAttribution(
  db: Queryable,
  operatorId: string,
  customerId: string,
): Promise<Attribution | null> {
  const { rows } = await db.query<{ attribution: Attribution | null }>(
    'SELECT attribution FROM customers WHERE operator_id = $1 AND customer_id = $2',
    [operatorId, customerId],
  );
  return rows[0]?.attribution ?? null;
}
