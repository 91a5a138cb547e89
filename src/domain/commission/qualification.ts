/**
 * CPA qualification as of event time. Every condition of the deal is judged at each moment a fact came
 * true (registration, a deposit, a KYC change, a wagering completion); the first moment at which all
 * hold is when the CPA is earned. So the answer depends only on the facts, never on their arrival order.
 * Pure and workflow-safe.
 */
import { add, compare, isPositive, max, sub, type Decimal } from '../money.js';
import type { CpaTerms } from './deals.js';
import { byTime, kycAt, type CustomerFacts, type Deposit } from './facts.js';

const DAY_MS = 86_400_000;

export type CpaShortfall =
  'not_registered' | 'country' | 'deadline' | 'kyc' | 'wagering' | 'first_deposit' | 'cumulative_deposits';

export type CpaQualification =
  | { qualified: true; at: string; causeEventId: string }
  /** `asOf`: the latest moment known, at which `shortfall` was judged; absent before any fact. */
  | { qualified: false; shortfall: CpaShortfall; asOf?: string };

/** Why the first deposit does not count towards a CPA at a moment (see `firstDepositProblem`). */
export type FirstDepositProblem = 'missing' | 'outside_window' | 'currency' | 'below_min';

/** A deposit's amount less the chargebacks and refunds against it (in its currency), never below zero. */
export function netDeposit(facts: CustomerFacts, deposit: Deposit): Decimal {
  let net = deposit.amount;
  for (const r of facts.returns) {
    if (r.depositId === deposit.depositId && r.currency === deposit.currency) net = sub(net, r.amount);
  }
  return max(net, '0');
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
): FirstDepositProblem | null {
  const q = terms.qualification ?? {};
  const first = facts.deposits[0];
  if (!first || Date.parse(first.occurredAt) > atMs) return 'missing';
  if (!depositInWindow(terms, facts, atMs, first)) return 'outside_window';
  if (first.currency !== terms.currency) return 'currency';
  const net = netDeposit(facts, first);
  const enough =
    q.minFirstDeposit === undefined
      ? isPositive(net)
      : isPositive(net) && compare(net, q.minFirstDeposit) >= 0;
  return enough ? null : 'below_min';
}

/** The net deposits that count towards `minCumulativeDeposits` at `atMs`: in the CPA's currency only. */
export function countedDeposits(terms: CpaTerms, facts: CustomerFacts, atMs: number): Decimal {
  let total = '0';
  for (const d of facts.deposits) {
    if (d.currency === terms.currency && depositInWindow(terms, facts, atMs, d))
      total = add(total, netDeposit(facts, d));
  }
  return total;
}

function shortfallAt(terms: CpaTerms, facts: CustomerFacts, atMs: number): CpaShortfall | null {
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

  const needsFirst = q.minFirstDeposit !== undefined || q.minCumulativeDeposits === undefined;
  if (needsFirst && firstDepositProblem(terms, facts, atMs)) return 'first_deposit';
  if (
    q.minCumulativeDeposits !== undefined &&
    compare(countedDeposits(terms, facts, atMs), q.minCumulativeDeposits) < 0
  )
    return 'cumulative_deposits';
  return null;
}

/**
 * Whether and when the customer qualifies for the CPA: the earliest moment of event time at which every
 * condition holds, and the event that made it so. When they do not, the condition that fails at the
 * latest moment known.
 */
export function cpaQualification(terms: CpaTerms, facts: CustomerFacts): CpaQualification {
  const moments = [
    ...(facts.registration ? [{ at: facts.registration.at, eventId: facts.registration.eventId }] : []),
    ...facts.deposits.map((d) => ({ at: d.occurredAt, eventId: d.eventId })),
    ...facts.kyc.map((k) => ({ at: k.at, eventId: k.eventId })),
    ...facts.wagering,
  ].sort(byTime);
  let last: CpaShortfall = 'not_registered';
  let asOf: string | undefined;
  for (const m of moments) {
    const shortfall = shortfallAt(terms, facts, Date.parse(m.at));
    if (shortfall === null)
      return { qualified: true, at: new Date(Date.parse(m.at)).toISOString(), causeEventId: m.eventId };
    last = shortfall;
    asOf = m.at;
  }
  return asOf === undefined
    ? { qualified: false, shortfall: last }
    : { qualified: false, shortfall: last, asOf };
}
