import type { VolumeDay } from '../domain/commission/volume-day.js';
import { format } from '../domain/money.js';
import type { CustomerKey } from './commission-holds.js';
import type { Queryable } from './pool.js';

/**
 * The days of trading volume a lot deal on daily volume has paid (migration 025), one row per customer,
 * account and day. Read under the customer's settlement lock, which serialises a customer's days.
 */

/** The account's day, locked; null before its first figure. */
export async function volumeDayForUpdate(
  db: Queryable,
  ref: CustomerKey,
  accountId: string,
  date: string,
): Promise<VolumeDay | null> {
  const { rows } = await db.query<{
    lots: Record<string, string>;
    paid: string;
    currency: string;
    event_id: string;
  }>(
    `SELECT lots, paid::text, currency, event_id FROM volume_days
      WHERE operator_id = $1 AND customer_id = $2 AND account_id = $3 AND day = $4 FOR UPDATE`,
    [ref.operatorId, ref.customerId, accountId, date],
  );
  const r = rows[0];
  return r
    ? { lots: r.lots, paid: format(r.paid, r.currency), currency: r.currency, eventId: r.event_id }
    : null;
}

/** Replaces the account's day with its figure after an event. */
export async function saveVolumeDay(
  db: Queryable,
  ref: CustomerKey,
  accountId: string,
  date: string,
  day: VolumeDay,
): Promise<void> {
  await db.query(
    `INSERT INTO volume_days (operator_id, customer_id, account_id, day, lots, paid, currency, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (operator_id, customer_id, account_id, day)
     DO UPDATE SET lots = EXCLUDED.lots, paid = EXCLUDED.paid, currency = EXCLUDED.currency,
                   event_id = EXCLUDED.event_id, updated_at = now()`,
    [ref.operatorId, ref.customerId, accountId, date, day.lots, day.paid, day.currency, day.eventId],
  );
}
