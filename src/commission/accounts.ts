import type { Queryable } from '../db/pool.js';
import { saveVolumeDay, volumeDayForUpdate } from '../db/volume-days.js';
import { lotSourceOf, type Deal } from '../domain/commission/deals.js';
import type { CommissionEvent } from '../domain/commission/facts.js';
import type { VolumeDay } from '../domain/commission/volume-day.js';
import { normalize, sub } from '../domain/money.js';
import { advisoryLocks, replaceRevenueDay, savepoints, type UnsettledRow } from '../db/settlement.js';
import type { CustomerRef } from './step.js';

/**
 * What a settlement does around one event: revenue days, volume days, RevShare account locks, parking
 * decisions.
 */

type RevenueEvent = Extract<CommissionEvent, { type: 'revenue.daily' }>;

/**
 * The customer's revenue for a day and currency is one figure: the last one sent. A `revenue.daily` under
 * a new id for a day already settled is a correction: it replaces the figure, and only its difference to
 * the figure it replaces moves the RevShare account (a positive one earns what it lifts the month by; a
 * negative one is netted against later revenue, as a chargeback is). Returns the event with that
 * difference as its NGR. The customer's row lock serialises the days of one customer.
 */
export async function revenueDifference(
  tx: Queryable,
  ref: CustomerRef,
  event: RevenueEvent,
): Promise<RevenueEvent> {
  const { date, ngr, currency } = event.data;
  const previous = await replaceRevenueDay(tx, ref, { date, currency, ngr, eventId: event.id });
  return previous === undefined
    ? event
    : { ...event, data: { ...event.data, ngr: normalize(sub(ngr, previous)) } };
}

/** An account's day of volume as a settlement reads it, and writes it back once evaluated. */
export interface VolumeDayAccess {
  before: VolumeDay | null;
  save(after: VolumeDay | null): Promise<void>;
}

/**
 * The account's day a `trading.volume_daily` names, locked, when the deal pays on daily volume; null for
 * any other event or deal, which leave the day alone. Like a revenue day, the day is one figure: the one
 * folded last replaces it (volume-day.ts books only what it adds above what the day was paid).
 */
export async function volumeDayOf(
  tx: Queryable,
  ref: CustomerRef,
  deal: Deal | null,
  event: CommissionEvent,
): Promise<VolumeDayAccess | null> {
  if (event.type !== 'trading.volume_daily' || !deal || lotSourceOf(deal) !== 'daily_volume') return null;
  const { accountId, date } = event.data;
  const before = await volumeDayForUpdate(tx, ref, accountId, date);
  return {
    before,
    save: async (after) => {
      if (after && after !== before) await saveVolumeDay(tx, ref, accountId, date, after);
    },
  };
}

/**
 * The error to park an event with, when its failure is deterministic: settling it again would fail the
 * same way, so retrying would only stop the customer's other events for good. That is an error of the
 * code or of the data (a RangeError from a date past the calendar, PostgreSQL's data and constraint
 * errors: a value no column can hold). Faults of the moment (a lost connection, a deadlock, a
 * serialisation failure, a statement timeout, PostgreSQL shutting down) are not: null, and the step
 * fails and is retried whole. The savepoint is rolled back first; if even that fails, the connection is
 * gone and so is the transaction.
 */
export async function parkable(tx: Queryable, err: unknown): Promise<string | null> {
  try {
    await savepoints.rollback(tx, 'settle_event');
  } catch {
    return null;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SQLSTATE classes: 22 data exception, 23 integrity (a unique violation may be a race: retried),
    // 42 a statement the data made invalid. Anything else, or a Node error code (ECONNRESET), is a fault.
    const deterministic =
      /^[0-9A-Z]{5}$/.test(code) &&
      (code.startsWith('22') || (code.startsWith('23') && code !== '23505') || code.startsWith('42'));
    if (!deterministic) return null;
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return (typeof code === 'string' ? `${message} (SQLSTATE ${code})` : message).slice(0, 1000);
}

/**
 * Locks the RevShare accounts the events may move, before any is read. Customers of one affiliate settle
 * in separate transactions and meet only here; `SELECT ... FOR UPDATE` on the account row locks nothing
 * while the row does not exist yet (a new affiliate's first revenue), and both would start from an empty
 * account. A transaction-scoped advisory lock per (operator, affiliate, currency) exists before the row
 * does; taken in one sorted order, two customers with several currencies cannot deadlock on them.
 */
export async function lockRevshareAccounts(
  tx: Queryable,
  operatorId: string,
  events: UnsettledRow[],
  affiliateOf: (row: UnsettledRow) => string | null,
): Promise<void> {
  const keys = new Set<string>();
  for (const row of events) {
    if (row.type !== 'revenue.daily' && row.type !== 'deposit.chargeback') continue;
    const affiliateId = affiliateOf(row);
    const currency = row.payload.data.currency;
    if (affiliateId && typeof currency === 'string')
      keys.add(`revshare-account/${operatorId}/${affiliateId}/${currency}`);
  }
  if (!keys.size) return;
  await advisoryLocks(tx, [...keys].sort());
}
