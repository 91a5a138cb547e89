import { fxKey, type FxNeed, type FxQuote, type FxTable } from '../domain/fx.js';
import { compare, normalize, type Decimal } from '../domain/money.js';
import type { Queryable } from './pool.js';

/**
 * Repository of the operator's exchange rates (migration 017): a day's rates set and read, the rate an
 * amount of a date uses (with the look-back), the rates ledger entries recorded, and the customers whose
 * events wait for a rate. Rates come back without trailing zeros (`"1.085"` for `"1.0850"`).
 */

export interface DayRate {
  from: string;
  to: string;
  rate: Decimal;
}

export interface RateDay {
  date: string;
  rates: DayRate[];
  updatedAt: Date | null;
}

/** Pairs of a day some ledger entry used, whose rate a new set would change or remove. */
export interface UsedRate {
  from: string;
  to: string;
  rate: Decimal;
}

export type PutDayResult = { outcome: 'stored'; day: RateDay } | { outcome: 'used'; used: UsedRate[] };

interface RateRow {
  from_currency: string;
  to_currency: string;
  rate: string;
  updated_at: Date;
}

const dayRate = (r: RateRow): DayRate => ({
  from: r.from_currency,
  to: r.to_currency,
  rate: normalize(r.rate),
});

/**
 * Replaces the operator's rates of `date` with `rates`, in the caller's transaction, unless that would
 * change or remove a rate a ledger entry used: then nothing changes and the used ones come back. The
 * day's rows are locked first, so a concurrent set or a settlement reading them (`FOR SHARE`) waits.
 */
export async function putDayRates(
  db: Queryable,
  operatorId: string,
  date: string,
  rates: readonly DayRate[],
): Promise<PutDayResult> {
  const { rows: current } = await db.query<RateRow>(
    `SELECT from_currency, to_currency, rate::text, updated_at FROM fx_rates
      WHERE operator_id = $1 AND rate_date = $2 FOR UPDATE`,
    [operatorId, date],
  );
  const next = new Map(rates.map((r) => [`${r.from}/${r.to}`, r.rate]));
  const touched = current.filter((r) => {
    const rate = next.get(`${r.from_currency}/${r.to_currency}`);
    return rate === undefined || compare(rate, r.rate) !== 0;
  });
  if (touched.length) {
    const { rows: used } = await db.query<RateRow>(
      `SELECT DISTINCT from_currency, to_currency, rate::text, now() AS updated_at FROM commission_fx
        WHERE operator_id = $1 AND rate_date = $2
          AND (from_currency, to_currency) IN (SELECT * FROM unnest($3::text[], $4::text[]))
        ORDER BY from_currency, to_currency`,
      [operatorId, date, touched.map((r) => r.from_currency), touched.map((r) => r.to_currency)],
    );
    if (used.length) return { outcome: 'used', used: used.map(dayRate) };
  }
  await db.query(
    `DELETE FROM fx_rates WHERE operator_id = $1 AND rate_date = $2
        AND (from_currency, to_currency) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [operatorId, date, rates.map((r) => r.from), rates.map((r) => r.to)],
  );
  await db.query(
    `INSERT INTO fx_rates (operator_id, from_currency, to_currency, rate_date, rate)
     SELECT $1, f, t, $2, r FROM unnest($3::text[], $4::text[], $5::numeric[]) AS n(f, t, r)
     ON CONFLICT (operator_id, from_currency, to_currency, rate_date)
     DO UPDATE SET rate = EXCLUDED.rate, updated_at = now() WHERE fx_rates.rate <> EXCLUDED.rate`,
    [operatorId, date, rates.map((r) => r.from), rates.map((r) => r.to), rates.map((r) => r.rate)],
  );
  return { outcome: 'stored', day: await dayRates(db, operatorId, date) };
}

/** The operator's rates of `date`, by pair; an empty list when none are set. */
export async function dayRates(db: Queryable, operatorId: string, date: string): Promise<RateDay> {
  const { rows } = await db.query<RateRow>(
    `SELECT from_currency, to_currency, rate::text, updated_at FROM fx_rates
      WHERE operator_id = $1 AND rate_date = $2 ORDER BY from_currency, to_currency`,
    [operatorId, date],
  );
  const updatedAt = rows.reduce<Date | null>((m, r) => (m && m > r.updated_at ? m : r.updated_at), null);
  return { date, rates: rows.map(dayRate), updatedAt };
}

/** The days the operator set rates for, newest first, before `before` (a date) when given. */
export async function rateDays(
  db: Queryable,
  operatorId: string,
  opts: { limit: number; before?: string | undefined },
): Promise<RateDay[]> {
  const { rows } = await db.query<{ date: string; rates: RateRow[]; updated_at: Date }>(
    `SELECT rate_date::text AS date, max(updated_at) AS updated_at,
            json_agg(json_build_object('from_currency', from_currency, 'to_currency', to_currency,
                                       'rate', rate::text) ORDER BY from_currency, to_currency) AS rates
       FROM fx_rates
      WHERE operator_id = $1 AND ($2::date IS NULL OR rate_date < $2)
      GROUP BY rate_date ORDER BY rate_date DESC LIMIT $3`,
    [operatorId, opts.before ?? null, opts.limit],
  );
  return rows.map((r) => ({ date: r.date, rates: r.rates.map(dayRate), updatedAt: r.updated_at }));
}

/**
 * The rate each need uses: the pair's rate of its date, else the latest of the `lookbackDays` days
 * before; absent when none. Read `FOR SHARE`, so a rate a settlement is using cannot change under it.
 */
export async function resolveRates(
  db: Queryable,
  operatorId: string,
  needs: readonly FxNeed[],
  lookbackDays: number,
): Promise<FxTable> {
  if (!needs.length) return {};
  const { rows } = await db.query<{ f: string; t: string; d: string; rate_date: string; rate: string }>(
    `SELECT n.f, n.t, n.d::text, r.rate_date::text, r.rate::text
       FROM unnest($2::text[], $3::text[], $4::date[]) AS n(f, t, d)
       CROSS JOIN LATERAL (
         SELECT rate_date, rate FROM fx_rates
          WHERE operator_id = $1 AND from_currency = n.f AND to_currency = n.t
            AND rate_date <= n.d AND rate_date >= n.d - $5::int
          ORDER BY rate_date DESC LIMIT 1 FOR SHARE) r`,
    [operatorId, needs.map((n) => n.from), needs.map((n) => n.to), needs.map((n) => n.on), lookbackDays],
  );
  const table: Record<string, FxQuote | null> = {};
  for (const r of rows)
    table[fxKey(r.f, r.t, r.d)] = { from: r.f, to: r.t, rate: normalize(r.rate), date: r.rate_date };
  return table;
}

/** Records the rates a ledger entry used, with it. */
export async function recordFxUses(
  db: Queryable,
  operatorId: string,
  entryId: string,
  fx: readonly FxQuote[],
): Promise<void> {
  if (!fx.length) return;
  await db.query(
    `INSERT INTO commission_fx (entry_id, operator_id, from_currency, to_currency, rate_date, rate)
     SELECT $1, $2, f, t, d, r FROM unnest($3::text[], $4::text[], $5::date[], $6::numeric[]) AS n(f, t, d, r)
     ON CONFLICT DO NOTHING`,
    [
      entryId,
      operatorId,
      fx.map((q) => q.from),
      fx.map((q) => q.to),
      fx.map((q) => q.date),
      fx.map((q) => q.rate),
    ],
  );
}

/** The rates each of these entries recorded, by entry id (entries that used none are absent). */
export async function fxOfEntries(
  db: Queryable,
  operatorId: string,
  entryIds: readonly string[],
): Promise<Map<string, FxQuote[]>> {
  const out = new Map<string, FxQuote[]>();
  if (!entryIds.length) return out;
  const { rows } = await db.query<RateRow & { entry_id: string; rate_date: string }>(
    `SELECT entry_id, from_currency, to_currency, rate_date::text, rate::text FROM commission_fx
      WHERE operator_id = $1 AND entry_id = ANY($2)
      ORDER BY entry_id, rate_date, from_currency, to_currency`,
    [operatorId, entryIds],
  );
  for (const r of rows) {
    const list = out.get(r.entry_id) ?? [];
    list.push({ from: r.from_currency, to: r.to_currency, rate: normalize(r.rate), date: r.rate_date });
    out.set(r.entry_id, list);
  }
  return out;
}

/** A customer with settled events that wait for a rate of one of the pairs, and one such event. */
export interface AwaitingCustomer {
  customerId: string;
  eventId: string;
  affiliateId: string | null;
}

/** Customers whose settled events wait for a rate of one of `pairs` (`EUR/USD`), at most `limit`. */
export async function customersAwaitingRates(
  db: Queryable,
  operatorId: string,
  pairs: readonly string[],
  limit: number,
): Promise<AwaitingCustomer[]> {
  const { rows } = await db.query<{ customer_id: string; event_id: string; affiliate_id: string | null }>(
    `SELECT DISTINCT ON (customer_id) customer_id, event_id,
            facts->'effectiveAttribution'->>'affiliateId' AS affiliate_id
       FROM events
      WHERE operator_id = $1 AND fx_missing IS NOT NULL AND fx_missing && $2::text[]
      ORDER BY customer_id, occurred_at, event_id
      LIMIT $3`,
    [operatorId, pairs, limit],
  );
  return rows.map((r) => ({ customerId: r.customer_id, eventId: r.event_id, affiliateId: r.affiliate_id }));
}
