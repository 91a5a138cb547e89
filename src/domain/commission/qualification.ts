/**
 * CPA qualification as of event time. Every condition of the deal is judged at each moment a fact came
 * true (registration, a deposit, a KYC change, a wagering completion); the first moment at which all
 * hold is when the CPA is earned. So the answer depends only on the facts, never on their arrival order.
 *
 * A deposit in another currency than the CPA's counts at its value in the CPA's currency, converted at the
 * operator's rate for the deposit's date (`src/domain/fx.ts`). Without that rate the moment cannot be
 * judged: qualification stops there (`fx_rate_missing`) rather than pay at a later moment, or not at all,
 * what the rate might have paid earlier; it is judged again once the rate is there.
 * Pure and workflow-safe.
 */
import { convert, fxKey, quoteFor, type FxQuote, type FxTable } from '../fx.js';
import { add, compare, isPositive, max, sub, type Decimal } from '../money.js';
import type { CpaTerms } from './deals.js';
import { byTime, kycAt, type CustomerFacts, type Deposit } from './facts.js';

const DAY_MS = 86_400_000;

export type CpaShortfall =
  | 'not_registered'
  | 'country'
  | 'deadline'
  | 'kyc'
  | 'wagering'
  | 'first_deposit'
  | 'cumulative_deposits'
  /** A deposit that decides the moment is in another currency and the operator has no rate for its date. */
  | 'fx_rate_missing';

export type CpaQualification =
  /** `fx`: the rates the deposits that qualified were converted at (none when all were in the CPA's currency). */
  | { qualified: true; at: string; causeEventId: string; fx: FxQuote[] }
  /** `asOf`: the latest moment known, at which `shortfall` was judged; absent before any fact. */
  | { qualified: false; shortfall: CpaShortfall; asOf?: string };

/** Why the first deposit does not count towards a CPA at a moment (see `firstDepositProblem`). */
export type FirstDepositProblem = 'missing' | 'outside_window' | 'fx_rate_missing' | 'below_min';

/** A deposit's amount less the chargebacks and refunds against it (in its currency), never below zero. */
export function netDeposit(facts: CustomerFacts, deposit: Deposit): Decimal {
  let net = deposit.amount;
  for (const r of facts.returns) {
    if (r.depositId === deposit.depositId && r.currency === deposit.currency) net = sub(net, r.amount);
  }
  return max(net, '0');
}

/**
 * A deposit's net amount in the CPA's currency: as it is, or converted at the rate of its date (`quote`);
 * null when that rate is missing.
 */
export function depositValue(
  terms: CpaTerms,
  facts: CustomerFacts,
  deposit: Deposit,
  fx: FxTable,
): { value: Decimal; quote: FxQuote | null } | null {
  const net = netDeposit(facts, deposit);
  if (deposit.currency === terms.currency) return { value: net, quote: null };
  const quote = quoteFor(fx, deposit.currency, terms.currency, deposit.occurredAt);
  return quote ? { value: convert(net, quote), quote } : null;
}

/**
 * Whether a deposit counts as of `atMs`: made by then and, with `windowDays`, within that many days of
 * registration (a deposit before registration never counts then).
 */
export function depositInWindow(terms: CpaTerms, facts: CustomerFacts, atMs: number, d: Deposit): boolean {
  const q = terms.qualification ?? {};
  const ms = Date.parse(d.occurredAt);
  if (ms > atMs) return false;
  if (q.windowDays === undefined) return true;
  const reg = facts.registration;
  if (!reg) return false;
  const regMs = Date.parse(reg.at);
  return ms >= regMs && ms < regMs + q.windowDays * DAY_MS;
}

/** Why the customer's first deposit does not meet the CPA's first-deposit condition at `atMs`, or null. */
export function firstDepositProblem(
  terms: CpaTerms,
  facts: CustomerFacts,
  atMs: number,
  fx: FxTable = {},
): FirstDepositProblem | null {
  const q = terms.qualification ?? {};
  const first = facts.deposits[0];
  if (!first || Date.parse(first.occurredAt) > atMs) return 'missing';
  if (!depositInWindow(terms, facts, atMs, first)) return 'outside_window';
  const worth = depositValue(terms, facts, first, fx);
  if (!worth) return 'fx_rate_missing';
  const enough =
    q.minFirstDeposit === undefined
      ? isPositive(worth.value)
      : isPositive(worth.value) && compare(worth.value, q.minFirstDeposit) >= 0;
  return enough ? null : 'below_min';
}

/** The deposits that count towards `minCumulativeDeposits` at `atMs`, in the CPA's currency. */
export interface CountedDeposits {
  /** Their net sum in the CPA's currency, each converted at its own date's rate. */
  total: Decimal;
  /** The rates used, one per converted deposit. */
  quotes: FxQuote[];
  /** Deposits in the window that could not be counted: no rate for their currency and date. */
  missing: Deposit[];
}

export function countDeposits(
  terms: CpaTerms,
  facts: CustomerFacts,
  atMs: number,
  fx: FxTable = {},
): CountedDeposits {
  const counted: CountedDeposits = { total: '0', quotes: [], missing: [] };
  for (const d of facts.deposits) {
    if (!depositInWindow(terms, facts, atMs, d)) continue;
    const worth = depositValue(terms, facts, d, fx);
    if (!worth) {
      counted.missing.push(d);
      continue;
    }
    counted.total = add(counted.total, worth.value);
    if (worth.quote) counted.quotes.push(worth.quote);
  }
  return counted;
}

function shortfallAt(terms: CpaTerms, facts: CustomerFacts, atMs: number, fx: FxTable): CpaShortfall | null {
  const q = terms.qualification ?? {};
  const reg = facts.registration;
  if (!reg || Date.parse(reg.at) > atMs) return 'not_registered';
  const regMs = Date.parse(reg.at);
  if (q.countries && !q.countries.includes(reg.country)) return 'country';
  if (q.deadlineDays !== undefined && atMs >= regMs + q.deadlineDays * DAY_MS) return 'deadline';
  if (q.requireKyc) {
    if (kycAt(facts, new Date(atMs).toISOString()) !== 'verified') return 'kyc';
  }
  if (q.requireWagering && !facts.wagering.some((w) => Date.parse(w.at) <= atMs)) return 'wagering';

  if (needsFirstDeposit(terms)) {
    const problem = firstDepositProblem(terms, facts, atMs, fx);
    if (problem === 'fx_rate_missing') return 'fx_rate_missing';
    if (problem) return 'first_deposit';
  }
  if (q.minCumulativeDeposits !== undefined) {
    const counted = countDeposits(terms, facts, atMs, fx);
    if (compare(counted.total, q.minCumulativeDeposits) < 0)
      return counted.missing.length ? 'fx_rate_missing' : 'cumulative_deposits';
  }
  return null;
}

/** Whether the CPA requires a first deposit: with a minimum for it, or with no deposit minimum at all. */
function needsFirstDeposit(terms: CpaTerms): boolean {
  const q = terms.qualification ?? {};
  return q.minFirstDeposit !== undefined || q.minCumulativeDeposits === undefined;
}

/** The rates the deposits that met the CPA's deposit conditions at `atMs` were converted at. */
function quotesUsedAt(terms: CpaTerms, facts: CustomerFacts, atMs: number, fx: FxTable): FxQuote[] {
  const quotes = new Map<string, FxQuote>();
  const first = facts.deposits[0];
  if (needsFirstDeposit(terms) && first) {
    const quote = depositValue(terms, facts, first, fx)?.quote;
    if (quote) quotes.set(fxKey(quote.from, quote.to, quote.date), quote);
  }
  if (terms.qualification?.minCumulativeDeposits !== undefined)
    for (const quote of countDeposits(terms, facts, atMs, fx).quotes)
      quotes.set(fxKey(quote.from, quote.to, quote.date), quote);
  return [...quotes.values()];
}

/**
 * Whether and when the customer qualifies for the CPA: the earliest moment of event time at which every
 * condition holds, the event that made it so, and the rates its deposits were converted at. When they do
 * not, the condition that fails at the latest moment known; or, at the first moment a missing rate leaves
 * undecided, `fx_rate_missing` as of that moment.
 */
export function cpaQualification(terms: CpaTerms, facts: CustomerFacts, fx: FxTable = {}): CpaQualification {
  const moments = [
    ...(facts.registration ? [{ at: facts.registration.at, eventId: facts.registration.eventId }] : []),
    ...facts.deposits.map((d) => ({ at: d.occurredAt, eventId: d.eventId })),
    ...facts.kyc.map((k) => ({ at: k.at, eventId: k.eventId })),
    ...facts.wagering,
  ].sort(byTime);
  let last: CpaShortfall = 'not_registered';
  let asOf: string | undefined;
  for (const m of moments) {
    const atMs = Date.parse(m.at);
    const shortfall = shortfallAt(terms, facts, atMs, fx);
    if (shortfall === null)
      return {
        qualified: true,
        at: new Date(atMs).toISOString(),
        causeEventId: m.eventId,
        fx: quotesUsedAt(terms, facts, atMs, fx),
      };
    last = shortfall;
    asOf = m.at;
    if (shortfall === 'fx_rate_missing') break;
  }
  return asOf === undefined
    ? { qualified: false, shortfall: last }
    : { qualified: false, shortfall: last, asOf };
}
