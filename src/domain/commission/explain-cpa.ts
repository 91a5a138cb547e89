/**
 * Why a customer's CPA was not earned by an event: already earned (or forfeited) before, the customer
 * blocked or a duplicate, or the qualification condition that fails at the latest moment known, refined
 * to the figures (`cpaQualification`'s `CpaShortfall`, and `firstDepositProblem` for the first deposit).
 * Part of explain.ts. Pure and workflow-safe.
 */
import { cpaTermsOf, type CpaTerms, type Deal } from './deals.js';
import { blocked, type RuleExplanation } from './explain-terms.js';
import { kycAt, type CustomerFacts } from './facts.js';
import type { CommissionState } from './intents.js';
import {
  countedDeposits,
  cpaQualification,
  depositInWindow,
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
export function explainCpa(deal: Deal, before: CommissionState, facts: CustomerFacts): RuleExplanation {
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
  const q = cpaQualification(terms, facts);
  if (q.qualified)
    return notEarned('already_paid', `the CPA was earned at ${q.at} (event ${q.causeEventId})`);
  return shortfall(terms, facts, q.shortfall, q.asOf ?? null);
}

function shortfall(
  terms: CpaTerms,
  facts: CustomerFacts,
  why: CpaShortfall,
  asOf: string | null,
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
      return firstDeposit(terms, facts, asOf);
    case 'cumulative_deposits':
      return cumulative(terms, facts, asOf);
  }
}

function windowText(terms: CpaTerms, facts: CustomerFacts): string {
  const days = terms.qualification?.windowDays;
  const reg = facts.registration;
  return days === undefined || !reg ? '' : ` within ${days} days of registration (${day(reg.at)})`;
}

function firstDeposit(terms: CpaTerms, facts: CustomerFacts, asOf: string | null): RuleExplanation {
  const min = terms.qualification?.minFirstDeposit;
  const atMs = asOf === null ? 0 : Date.parse(asOf);
  const problem = asOf === null ? 'missing' : firstDepositProblem(terms, facts, atMs);
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
    case 'currency':
      return notEarned(
        'deposit_currency_differs',
        `first deposit ${amount}; the CPA counts deposits in ${terms.currency} only`,
      );
    default: {
      const net = netDeposit(facts, first);
      const netText = net === first.amount ? '' : ` (${net} net of chargebacks and refunds)`;
      return notEarned(
        'below_min_first_deposit',
        `first deposit ${amount}${netText} is below the CPA's minimum first deposit${needed || ' (more than 0)'}`,
      );
    }
  }
}

function cumulative(terms: CpaTerms, facts: CustomerFacts, asOf: string | null): RuleExplanation {
  const min = terms.qualification?.minCumulativeDeposits ?? '0';
  const atMs = asOf === null ? 0 : Date.parse(asOf);
  const counted = asOf === null ? '0' : countedDeposits(terms, facts, atMs);
  const others = facts.deposits.filter(
    (d) => d.currency !== terms.currency && asOf !== null && depositInWindow(terms, facts, atMs, d),
  );
  const tally = `counted ${counted} of ${min} ${terms.currency}${windowText(terms, facts)}`;
  if (others.length) {
    // At most three named: the explanation stays small however many deposits there are.
    const named = others.slice(0, 3).map((d) => `${d.amount} ${d.currency}`);
    const list = named.join(', ') + (others.length > 3 ? ` and ${others.length - 3} more` : '');
    return notEarned(
      'deposit_currency_differs',
      `deposits ${list} not counted: the CPA counts deposits in ${terms.currency} only (${tally})`,
    );
  }
  return notEarned('below_min_cumulative_deposits', `deposits ${tally}`);
}
