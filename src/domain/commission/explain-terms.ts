/**
 * The vocabulary of an event's explanation (explain.ts): outcomes, reason codes, the shape stored with
 * the event and returned by the API, and the accrual blockers every rule shares. Pure and workflow-safe.
 */
import type { CommissionRule, DealModel } from './deals.js';
import { accrualBlocker, type CustomerFacts } from './facts.js';
import { REASON_CODES, type ReasonCode } from './intents.js';

export const EXPLANATION_OUTCOMES = [
  /** The event's settlement booked a commission under the rule. */
  'earned',
  /** The rule could have paid on this event and did not: `reason` says why. */
  'not_earned',
  /** The event undid (rejected, reversed or flagged for review) a commission of the rule. */
  'compensated',
  /** The rule does not pay on this type of event. */
  'not_applicable',
  /** No affiliate with a deal to judge the event by, yet: it is judged once there is one. */
  'pending_attribution',
  /**
   * The rule cannot judge the event yet for want of something the operator provides (`fx_rate_missing`,
   * `awaiting_purchase`): it is judged again once it is there.
   */
  'pending',
] as const;
export type ExplanationOutcome = (typeof EXPLANATION_OUTCOMES)[number];

const OWN_REASONS = [
  'qualified',
  'accrued',
  'unattributed',
  'no_deal',
  'affiliate_suspended',
  'already_paid',
  'forfeited',
  'not_registered',
  'country_not_eligible',
  'deadline_passed',
  'kyc_missing',
  'wagering_missing',
  'no_deposit',
  'outside_window',
  /** Recorded before exchange rates existed: a deposit in another currency did not count. */
  'deposit_currency_differs',
  /** A deposit the CPA counts is in another currency and the operator has no rate for its date yet. */
  'fx_rate_missing',
  'below_min_first_deposit',
  'below_min_cumulative_deposits',
  'ngr_below_paid_level',
  'ngr_lowered',
  'zero_amount',
  /** A milestone the deal does not list (`phase 3` when it pays phase 1 and funding). */
  'milestone_not_in_deal',
  /** A milestone reached before its challenge's purchase arrived: the purchase pays it. */
  'awaiting_purchase',
  'event_moves_no_commission',
  /** A lot deal pays on one source of lots (`lotSource`); the event is of the other. */
  'other_lot_source',
] as const;

/** Every reason an explanation gives: its own, and the compensation reasons (`REASON_CODES`). */
export const EXPLANATION_REASONS: readonly ExplanationReason[] = [
  ...OWN_REASONS,
  ...REASON_CODES.filter((c) => !(OWN_REASONS as readonly string[]).includes(c)),
];
export type ExplanationReason = (typeof OWN_REASONS)[number] | ReasonCode;

export interface Explanation {
  /** The affiliate the event is attributed to; null when none is. */
  affiliateId: string | null;
  dealModel: DealModel | null;
  /** The rule of the deal this is about; null when there is no deal to judge by. */
  rule: CommissionRule | null;
  outcome: ExplanationOutcome;
  reason: ExplanationReason;
  /** One sentence with the figures, for a person. */
  detail: string;
}

/** What a rule's explainer returns; the caller adds the affiliate and the deal's model. */
export type RuleExplanation = Pick<Explanation, 'outcome' | 'reason' | 'detail'>;

/** Why nothing more accrues for the customer under any rule (self-exclusion, fraud, KYC rejected), or null. */
export function blocked(facts: CustomerFacts): RuleExplanation | null {
  const blocker = accrualBlocker(facts);
  if (!blocker) return null;
  const detail = {
    self_exclusion: `the customer self-excluded (${facts.status?.at ?? ''}): nothing more is earned`,
    fraud_high: `a high-severity fraud flag (${facts.fraudHigh?.value ?? ''}, ${facts.fraudHigh?.at ?? ''}): nothing more is earned`,
    kyc_rejected: `the customer's KYC is rejected: nothing more is earned`,
  }[blocker];
  return { outcome: 'not_earned', reason: blocker, detail };
}
