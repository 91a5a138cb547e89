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
  { qualified: true; at: string; causeEventId: string } | { qualified: false; shortfall: CpaShortfall };

/** A deposit's amount less the chargebacks and refunds against it (in its currency), never below zero. */
export function netDeposit(facts: CustomerFacts, deposit: Deposit): Decimal {
  let net = deposit.amount;
  for (const r of facts.returns) {
    if (r.depositId === deposit.depositId && r.currency === deposit.currency) net = sub(net, r.amount);
  }
  return max(net, '0');
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

  const inWindow = (d: Deposit) => {
    const ms = Date.parse(d.occurredAt);
    if (ms > atMs) return false;
    return q.windowDays === undefined || (ms >= regMs && ms < regMs + q.windowDays * DAY_MS);
  };
  const needsFirst = q.minFirstDeposit !== undefined || q.minCumulativeDeposits === undefined;
  if (needsFirst) {
    const first = facts.deposits[0];
    if (!first || !inWindow(first) || first.currency !== terms.currency) return 'first_deposit';
    const net = netDeposit(facts, first);
    const enough =
      q.minFirstDeposit === undefined
        ? isPositive(net)
        : isPositive(net) && compare(net, q.minFirstDeposit) >= 0;
    if (!enough) return 'first_deposit';
  }
  if (q.minCumulativeDeposits !== undefined) {
    let total = '0';
    for (const d of facts.deposits) {
      if (d.currency === terms.currency && inWindow(d)) total = add(total, netDeposit(facts, d));
    }
    if (compare(total, q.minCumulativeDeposits) < 0) return 'cumulative_deposits';
  }
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
  for (const m of moments) {
    const shortfall = shortfallAt(terms, facts, Date.parse(m.at));
    if (shortfall === null)
      return { qualified: true, at: new Date(Date.parse(m.at)).toISOString(), causeEventId: m.eventId };
    last = shortfall;
  }
  return { qualified: false, shortfall: last };
}
