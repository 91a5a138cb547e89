/**
 * Why a customer's CPA was not earned by an event: already earned (or forfeited) before, the customer
 * blocked or a duplicate, or the qualification condition that fails at the latest moment known, refined
 * to the figures (`cpaQualification`'s `CpaShortfall`, and `firstDepositProblem` for the first deposit).
 * A deposit in another currency counts at its converted value; without the operator's rate for its date
 * the CPA is `pending` (`fx_rate_missing`), naming the rate to set. Part of explain.ts. Pure and
 * workflow-safe.
 */
import { utcDate, type FxTable } from '../fx.js';
import { cpaTermsOf, type CpaTerms, type Deal } from './deals.js';
import { blocked, type RuleExplanation } from './explain-terms.js';
import { kycAt, type CustomerFacts, type Deposit } from './facts.js';
import type { CommissionState } from './intents.js';
import {
  countDeposits,
  cpaQualification,
  depositValue,
  firstDepositProblem,
  netDeposit,
  type CpaShortfall,
} from './qualification.js';

const day = (at: string) => at.slice(0, 10);

const notEarned = (reason: RuleExplanation['reason'], detail: string): RuleExplanation => ({
  outcome: 'not_earned',
  reason,
  detail,
});

/** The CPA's explanation for an event that accrued and compensated nothing under it. */
export function explainCpa(
  deal: Deal,
  before: CommissionState,
  facts: CustomerFacts,
  fx: FxTable = {},
): RuleExplanation {
  const terms = cpaTermsOf(deal)!;
  const kept = before.commissions.find((c) => c.rule === 'cpa');
  if (kept) {
    const what = `the CPA of ${kept.amount} ${kept.currency} earned on event ${kept.causeEventId}`;
    return kept.status === 'pending' || kept.status === 'approved'
      ? notEarned('already_paid', `${what} is ${kept.status}: a customer earns one CPA`)
      : notEarned('forfeited', `${what} is ${kept.status}: a customer earns one CPA`);
  }
  if (facts.status?.value === 'duplicate')
    return notEarned('duplicate', 'the customer is marked a duplicate account: no CPA is payable');
  const stop = blocked(facts);
  if (stop) return stop;
  const q = cpaQualification(terms, facts, fx);
  if (q.qualified)
    return notEarned('already_paid', `the CPA was earned at ${q.at} (event ${q.causeEventId})`);
  return shortfall(terms, facts, q.shortfall, q.asOf ?? null, fx);
}

/** The CPA waits for the rates of these deposits (the first three named). */
function rateMissing(terms: CpaTerms, deposits: Deposit[]): RuleExplanation {
  const named = deposits
    .slice(0, 3)
    .map((d) => `${d.amount} ${d.currency} on ${day(d.occurredAt)}`)
    .join(', ');
  const more = deposits.length > 3 ? ` and ${deposits.length - 3} more` : '';
  const pairs = [...new Set(deposits.map((d) => `${d.currency} -> ${terms.currency}`))].join(', ');
  const dates = [...new Set(deposits.map((d) => utcDate(d.occurredAt)))].slice(0, 3).join(', ');
  return {
    outcome: 'pending',
    reason: 'fx_rate_missing',
    detail:
      `deposit ${named}${more}: no ${pairs} rate for that day or the days before; the CPA ` +
      `(${terms.currency}) is judged once one is set (PUT /v1/fx-rates/${dates})`,
  };
}

function shortfall(
  terms: CpaTerms,
  facts: CustomerFacts,
  why: CpaShortfall,
  asOf: string | null,
  fx: FxTable,
): RuleExplanation {
  const q = terms.qualification ?? {};
  const reg = facts.registration;
  switch (why) {
    case 'not_registered':
      return notEarned('not_registered', 'no customer.registered yet: the CPA counts from registration');
    case 'country':
      return notEarned(
        'country_not_eligible',
        `registered in ${reg?.country}; the CPA pays for ${(q.countries ?? []).join(', ')} only`,
      );
    case 'deadline':
      return notEarned(
        'deadline_passed',
        `the CPA had to be earned within ${q.deadlineDays} days of registration (${day(reg!.at)})`,
      );
    case 'kyc':
      return notEarned(
        'kyc_missing',
        `KYC is ${(asOf && kycAt(facts, asOf)) ?? 'not reported'}; the CPA requires it verified`,
      );
    case 'wagering':
      return notEarned('wagering_missing', 'no wagering.completed yet; the CPA requires one');
    case 'first_deposit':
      return firstDeposit(terms, facts, asOf, fx);
    case 'cumulative_deposits':
      return cumulative(terms, facts, asOf, fx);
    case 'fx_rate_missing': {
      const atMs = asOf === null ? 0 : Date.parse(asOf);
      const first = facts.deposits[0];
      const waiting =
        first && firstDepositProblem(terms, facts, atMs, fx) === 'fx_rate_missing'
          ? [first]
          : countDeposits(terms, facts, atMs, fx).missing;
      return rateMissing(terms, waiting);
    }
  }
}

function windowText(terms: CpaTerms, facts: CustomerFacts): string {
  const days = terms.qualification?.windowDays;
  const reg = facts.registration;
  return days === undefined || !reg ? '' : ` within ${days} days of registration (${day(reg.at)})`;
}

function firstDeposit(
  terms: CpaTerms,
  facts: CustomerFacts,
  asOf: string | null,
  fx: FxTable,
): RuleExplanation {
  const min = terms.qualification?.minFirstDeposit;
  const atMs = asOf === null ? 0 : Date.parse(asOf);
  const problem = asOf === null ? 'missing' : firstDepositProblem(terms, facts, atMs, fx);
  const first = facts.deposits[0];
  const needed = min === undefined ? '' : ` of at least ${min} ${terms.currency}`;
  if (problem === 'missing' || !first)
    return notEarned('no_deposit', `no deposit yet; the CPA needs a first deposit${needed}`);
  const amount = `${first.amount} ${first.currency}`;
  switch (problem) {
    case 'outside_window':
      return notEarned(
        'outside_window',
        `first deposit ${amount} on ${day(first.occurredAt)} is not${windowText(terms, facts)}`,
      );
    case 'fx_rate_missing':
      return rateMissing(terms, [first]);
    default: {
      const net = netDeposit(facts, first);
      const netText = net === first.amount ? '' : ` (${net} net of chargebacks and refunds)`;
      const quote = depositValue(terms, facts, first, fx)?.quote;
      const worth = quote
        ? ` (${depositValue(terms, facts, first, fx)!.value} ${terms.currency} at ${quote.rate} ${quote.from}/${quote.to} of ${quote.date})`
        : '';
      return notEarned(
        'below_min_first_deposit',
        `first deposit ${amount}${netText}${worth} is below the CPA's minimum first deposit${needed || ' (more than 0)'}`,
      );
    }
  }
}

function cumulative(
  terms: CpaTerms,
  facts: CustomerFacts,
  asOf: string | null,
  fx: FxTable,
): RuleExplanation {
  const min = terms.qualification?.minCumulativeDeposits ?? '0';
  const atMs = asOf === null ? 0 : Date.parse(asOf);
  const counted = asOf === null ? '0' : countDeposits(terms, facts, atMs, fx).total;
  const converted = asOf === null ? 0 : countDeposits(terms, facts, atMs, fx).quotes.length;
  const rates = converted ? `, ${converted} converted at the operator's rates` : '';
  return notEarned(
    'below_min_cumulative_deposits',
    `deposits counted ${counted} of ${min} ${terms.currency}${windowText(terms, facts)}${rates}`,
  );
}
