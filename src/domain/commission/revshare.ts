/**
 * RevShare on NGR, accrued day by day from `revenue.daily`, with tiers by month-to-date NGR and optional
 * negative carryover. The state is one account per affiliate and currency, passed in and handed back.
 *
 * The account tracks the month's effective NGR (`level`: this month's NGR plus any shortfall carried in)
 * and the level commission has been paid up to (`paidUpTo`, the month's high-water mark, never below
 * zero). A day pays for the NGR by which it lifts the level above `paidUpTo`, at the percent of the tier
 * each slice falls in, so a month's commission is the same however its NGR is split into days and in
 * whatever order the days arrive, and equals the tiered commission on the month's peak NGR. Amounts are
 * rounded through the month's cumulative figure, so daily rounding never drifts.
 *
 * Commissions are never negative: a negative day lowers the level, and later days pay nothing until the
 * level is back above `paidUpTo`. At the turn of the month, with carryover, what the level ended below
 * `paidUpTo` is carried in as the next month's starting level, so NGR lost after being paid for is
 * earned back before anything more is paid; without carryover the next month starts from zero.
 * Revenue dated in a month already closed counts towards the current one: closed months stay closed.
 */
import { add, compare, isPositive, max, minorUnits, sub, sumOfPercents, type Decimal } from '../money.js';
import type { RevshareTerms } from './deals.js';

export interface RevshareAccount {
  currency: string;
  /** The month the account is in, `YYYY-MM`. */
  month: string;
  /** This month's NGR plus the shortfall carried in; may be negative. */
  level: Decimal;
  /** The level commission has been paid up to this month; zero or more, never below `level`. */
  paidUpTo: Decimal;
}

export function newRevshareAccount(currency: string, month: string): RevshareAccount {
  return { currency, month, level: '0', paidUpTo: '0' };
}

/** The month, `YYYY-MM`, of a `revenue.daily` date (`YYYY-MM-DD`). */
export function revenueMonth(date: string): string {
  return date.slice(0, 7);
}

/** The tiered commission on NGR from zero to `ngr`, rounded once to the currency's minor unit. */
export function tieredCommission(terms: RevshareTerms, ngr: Decimal, currency: string): Decimal {
  const top = max(ngr, '0');
  const tiers = [...(terms.tiers ?? [])].sort((a, b) => compare(a.fromNgr, b.fromNgr));
  const bands: { from: Decimal; to: Decimal | null; percent: Decimal }[] = [];
  let from = '0';
  let percent = terms.percent;
  for (const tier of tiers) {
    bands.push({ from, to: tier.fromNgr, percent });
    from = tier.fromNgr;
    percent = tier.percent;
  }
  bands.push({ from, to: null, percent });
  const parts = bands.flatMap((band) => {
    const upper = band.to === null || compare(top, band.to) < 0 ? top : band.to;
    const width = sub(upper, band.from);
    return isPositive(width) ? [{ amount: width, percent: band.percent }] : [];
  });
  return sumOfPercents(parts, minorUnits(currency));
}

/** The account after rolling into `month` (later than its own), carrying the shortfall if the deal says so. */
function rollOver(terms: RevshareTerms, account: RevshareAccount, month: string): RevshareAccount {
  const shortfall = sub(account.level, account.paidUpTo); // never positive
  return {
    currency: account.currency,
    month,
    level: terms.negativeCarryover && compare(shortfall, '0') < 0 ? shortfall : '0',
    paidUpTo: '0',
  };
}

/**
 * Applies one day's NGR to the account: the commission it earns (zero or more, in the currency's minor
 * unit) and the account afterwards. `account` is null for an affiliate's first revenue in the currency.
 */
export function applyRevenue(
  terms: RevshareTerms,
  account: RevshareAccount | null,
  revenue: { date: string; ngr: Decimal; currency: string },
): { commission: Decimal; account: RevshareAccount } {
  const month = revenueMonth(revenue.date);
  let current = account ?? newRevshareAccount(revenue.currency, month);
  if (current.currency !== revenue.currency) {
    throw new RangeError(`a ${current.currency} RevShare account cannot take ${revenue.currency} revenue`);
  }
  if (month > current.month) current = rollOver(terms, current, month);
  const nextLevel = add(current.level, revenue.ngr);
  const paidUpTo = max(current.paidUpTo, nextLevel);
  const commission = sub(
    tieredCommission(terms, paidUpTo, revenue.currency),
    tieredCommission(terms, current.paidUpTo, revenue.currency),
  );
  return { commission, account: { ...current, level: nextLevel, paidUpTo } };
}
