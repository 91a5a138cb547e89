/**
 * Exchange rates the operator provides (`PUT /v1/fx-rates/{date}`), as the commission engine uses them.
 *
 * - Which rate: for an amount that occurred at a moment, the operator's `from -> to` rate of that moment's
 *   UTC date, else the latest one of the {@link FX_LOOKBACK_DAYS_DEFAULT} (a setting,
 *   `FX_RATE_LOOKBACK_DAYS`) days before it. Only the pair in that direction: a EUR -> USD rate never
 *   serves USD -> EUR, so no amount is ever divided and nothing is rounded but the product.
 * - Conversion: amount x rate, computed exactly and rounded once, half away from zero, to the target
 *   currency's minor unit (`50.00 EUR x 1.0850 = 54.25 USD`; `src/domain/money.ts`): the figure an
 *   affiliate can recompute by hand, compared with the deal's threshold as it is.
 * - A rate is a positive decimal string of at most {@link MAX_RATE_DIGITS} integer digits and 8 decimals,
 *   so any amount the API accepts, converted, still fits `numeric(28, 8)`.
 *
 * The settlement resolves the rates an evaluation may need before it evaluates (an `FxTable`), so the
 * evaluator stays pure. Pure and workflow-safe.
 */
import { isPositive, minorUnits, mul, type Decimal } from './money.js';

/** Integer digits a rate may have: 1 USD is at most 999,999 units of any currency. */
export const MAX_RATE_DIGITS = 6;
/** Days before an amount's date a rate may be taken from, when its own date has none (the default). */
export const FX_LOOKBACK_DAYS_DEFAULT = 7;
/** The most a deployment may configure: a rate older than a month is not a rate of the day. */
export const FX_LOOKBACK_DAYS_MAX = 31;

/** One rate as the engine used it: `1 from = rate to`, the operator's rate of `date` (`YYYY-MM-DD`). */
export interface FxQuote {
  from: string;
  to: string;
  rate: Decimal;
  date: string;
}

/** A rate wanted: `from -> to` for an amount that occurred on `on` (`YYYY-MM-DD`, UTC). */
export interface FxNeed {
  from: string;
  to: string;
  on: string;
}

/**
 * The rates resolved for one evaluation, by `fxKey(from, to, on)`: the quote that applies, or null when
 * the operator has none within the look-back. A need not listed counts as missing.
 */
export type FxTable = Readonly<Record<string, FxQuote | null>>;

/** The UTC date (`YYYY-MM-DD`) of an RFC 3339 time. */
export function utcDate(at: string): string {
  return new Date(Date.parse(at)).toISOString().slice(0, 10);
}

export function fxKey(from: string, to: string, on: string): string {
  return `${from}/${to}/${on}`;
}

/** The quote for converting an amount in `from` that occurred at `at` into `to`, or null when missing. */
export function quoteFor(fx: FxTable, from: string, to: string, at: string): FxQuote | null {
  return fx[fxKey(from, to, utcDate(at))] ?? null;
}

/** `amount` (in `quote.from`) in `quote.to`: the exact product rounded once to the target's minor unit. */
export function convert(amount: Decimal, quote: FxQuote): Decimal {
  return mul(amount, quote.rate, minorUnits(quote.to));
}

/** Whether a rate as given is one the engine can use: positive, within the digits. */
export function isUsableRate(rate: Decimal): boolean {
  const whole = /^(\d+)(?:\.\d{1,8})?$/.exec(rate)?.[1];
  return whole !== undefined && whole.replace(/^0+(?=\d)/, '').length <= MAX_RATE_DIGITS && isPositive(rate);
}

/** The distinct rates needed to bring amounts of the given currencies and times into `to`. */
export function ratesNeeded(amounts: readonly { currency: string; at: string }[], to: string): FxNeed[] {
  const out = new Map<string, FxNeed>();
  for (const a of amounts) {
    if (a.currency === to) continue;
    const on = utcDate(a.at);
    out.set(fxKey(a.currency, to, on), { from: a.currency, to, on });
  }
  return [...out.values()];
}

/** `from/to`: how a pair is named in an event's list of missing rates. */
export function pairName(p: { from: string; to: string }): string {
  return `${p.from}/${p.to}`;
}
