/**
 * Why a challenge's milestone paid or not (explain.ts asks): the milestone a `challenge.phase_passed` or
 * `funded_account.activated` says the trader reached, or those that waited for a `challenge.purchased`,
 * judged by the deal's milestones, the challenge's refund, its purchase and the accrual blockers. Pure and
 * workflow-safe.
 */
import { milestoneName, milestoneOf, type Deal } from './deals.js';
import { blocked, type RuleExplanation } from './explain-terms.js';
import {
  challengeOf,
  isRefunded,
  reachedBy,
  type CommissionEvent,
  type CustomerFacts,
  type ReachedMilestone,
} from './facts.js';
import { challengeOfKey, idempotencyKeys, type AccrueIntent, type CommissionState } from './intents.js';

/** `phase 1 of challenge ch-1, reached on event evt-p1`, and whether it waited for this purchase. */
export function milestoneText(a: AccrueIntent, event: CommissionEvent): string {
  const of = challengeOfKey(a.idempotencyKey);
  const what = `${of?.milestone ?? 'a milestone'} of challenge ${of?.challengeId ?? ''}, reached on event ${a.causeEventId}`;
  return a.causeEventId === event.id ? what : `${what}, paid now that the purchase gives its price`;
}

const notApplicable = (detail: string): RuleExplanation => ({
  outcome: 'not_applicable',
  reason: 'event_moves_no_commission',
  detail,
});

const refunded = (challengeId: string): RuleExplanation => ({
  outcome: 'not_earned',
  reason: 'challenge_refund',
  detail: `challenge ${challengeId} was refunded: its milestones pay nothing`,
});

/** Why the milestone rule booked nothing on this event. */
export function explainMilestone(
  event: CommissionEvent,
  deal: Deal,
  before: CommissionState,
  facts: CustomerFacts,
): RuleExplanation {
  if (event.type === 'challenge.purchased') return explainWaited(event.data.challengeId, deal, before, facts);
  const r = reachedBy(event);
  if (!r) return notApplicable('milestones pay on challenge.phase_passed and funded_account.activated only');
  const { challengeId, reached } = r;
  const name = milestoneName(reached.trigger);
  const stop = blocked(facts);
  if (stop) return stop;
  if (isRefunded(facts, challengeId)) return refunded(challengeId);
  const milestone = milestoneOf(deal, reached.trigger);
  if (!milestone)
    return {
      outcome: 'not_earned',
      reason: 'milestone_not_in_deal',
      detail: `the deal pays no milestone for ${name} of a challenge`,
    };
  const key = idempotencyKeys.milestone(challengeId, reached.trigger);
  if (before.commissions.some((c) => c.idempotencyKey === key))
    return {
      outcome: 'not_earned',
      reason: 'already_paid',
      detail: `${name} of challenge ${challengeId} was already paid (${key}): a milestone pays once`,
    };
  const purchase = challengeOf(facts, challengeId)?.purchase;
  if (!purchase)
    return {
      outcome: 'pending',
      reason: 'awaiting_purchase',
      detail: `${name} of challenge ${challengeId} waits for the challenge's purchase (challenge.purchased), whose price it is paid on: it is judged when that arrives`,
    };
  return {
    outcome: 'not_earned',
    reason: 'zero_amount',
    detail: `${milestone.percent ?? ''}% of a price of ${purchase.price} ${purchase.currency} is nothing`,
  };
}

/** A purchase that booked no milestone: none waited for it, or what waited does not pay. */
function explainWaited(
  challengeId: string,
  deal: Deal,
  before: CommissionState,
  facts: CustomerFacts,
): RuleExplanation {
  const waiting: ReachedMilestone[] = challengeOf(before.facts, challengeId)?.waiting ?? [];
  if (!waiting.length)
    return notApplicable(`no milestone of challenge ${challengeId} waited for its purchase`);
  const stop = blocked(facts);
  if (stop) return stop;
  if (isRefunded(facts, challengeId)) return refunded(challengeId);
  const names = waiting.map((w) => milestoneName(w.trigger)).join(', ');
  return waiting.some((w) => milestoneOf(deal, w.trigger))
    ? {
        outcome: 'not_earned',
        reason: 'zero_amount',
        detail: `the milestones that waited for this purchase (${names}) pay nothing on its price`,
      }
    : {
        outcome: 'not_earned',
        reason: 'milestone_not_in_deal',
        detail: `the deal pays none of the milestones that waited for this purchase (${names})`,
      };
}
