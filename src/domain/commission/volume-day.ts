/**
 * A trading account's day under a lot deal that pays on daily volume (`lotSource: 'daily_volume'`). A day
 * is one figure per (customer, account, date): the last `trading.volume_daily` sent for it. As with a
 * corrected `revenue.daily`, a later event for the same day under a new id replaces the figure, and only
 * what it adds above what the day was already paid is booked; a lower figure books nothing (what was paid
 * stays paid, and the next correction of the day pays only above it). So a day is never paid twice,
 * whatever is re-sent. Pure and workflow-safe.
 */
import {
  compare,
  isPositive,
  minorUnits,
  normalize,
  sub,
  sum,
  sumOfProducts,
  type Decimal,
} from '../money.js';
import type { LotDeal } from './deals.js';

/** What the settlement keeps of one account's day (migration 025, `volume_days`). */
export interface VolumeDay {
  /** The day's lots per instrument, as last sent. */
  lots: Record<string, Decimal>;
  /** The most the day has come to so far under the deal, in `currency`: a correction pays only above it. */
  paid: Decimal;
  currency: string;
  /** The event whose figure this is. */
  eventId: string;
}

/** The day's lots over all instruments. */
export function totalLots(lots: Readonly<Record<string, Decimal>>): Decimal {
  return normalize(sum(Object.values(lots)));
}

/**
 * What a day of lots comes to under the deal: each instrument's lots at its own amount per lot (or
 * `amountPerLot`), summed exactly and rounded once to the deal currency's minor unit.
 */
export function dayAmount(deal: LotDeal, lots: Readonly<Record<string, Decimal>>): Decimal {
  const parts = Object.entries(lots).map(([instrument, n]) => ({
    a: deal.instruments?.[instrument] ?? deal.amountPerLot,
    b: n,
  }));
  return sumOfProducts(parts, minorUnits(deal.currency));
}

export interface DayRevision {
  /** What the figure comes to under the deal. */
  amount: Decimal;
  /** What to book now: the amount above what the day was paid; zero when it adds nothing. */
  due: Decimal;
  /** The day after the event. */
  day: VolumeDay;
}

/**
 * The day after a figure for it: what it comes to, and what of that is still due. A day first paid in
 * another currency (the deal changed since) takes the new figure and pays nothing: it was paid once.
 */
export function reviseDay(
  deal: LotDeal,
  before: VolumeDay | null,
  eventId: string,
  lots: Record<string, Decimal>,
): DayRevision {
  const amount = dayAmount(deal, lots);
  if (before && before.currency !== deal.currency)
    return { amount, due: '0', day: { ...before, lots, eventId } };
  const paid = before?.paid ?? '0';
  const due = isPositive(sub(amount, paid)) ? sub(amount, paid) : '0';
  const highest = compare(amount, paid) > 0 ? amount : paid;
  return { amount, due, day: { lots, paid: highest, currency: deal.currency, eventId } };
}
