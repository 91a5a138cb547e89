/**
 * Why an event earned what it did: for the affiliate the event is attributed to, one explanation per rule
 * of its deal (a hybrid deal has two), each with an outcome, a reason code and one sentence with the
 * figures. It answers the question an affiliate manager asks first, "why wasn't my affiliate paid?", from
 * the evaluator's own decisions: the intents it returned, the ledger's answer to each accrual, and, when
 * nothing accrued, the condition that stopped it (`CpaShortfall` refined by `firstDepositProblem`, the
 * accrual blockers, the rules' own conditions). The settlement records it with the event
 * (`events.evaluation`); `GET /v1/events/{id}` returns it. Pure and workflow-safe.
 */
import type { FxQuote, FxTable } from '../fx.js';
import { lotSourceOf, purchasePay, type CommissionRule, type Deal } from './deals.js';
import type { Evaluation } from './evaluate.js';
import { explainCpa } from './explain-cpa.js';
import { explainMilestone, milestoneText } from './explain-milestone.js';
import { blocked, type Explanation, type RuleExplanation } from './explain-terms.js';
import type { CommissionEvent, CustomerFacts } from './facts.js';
import type { AccrueIntent, CommissionState, CompensateIntent } from './intents.js';
import { reviseDay, totalLots, type VolumeDay } from './volume-day.js';

export {
  EXPLANATION_OUTCOMES,
  EXPLANATION_REASONS,
  type Explanation,
  type ExplanationOutcome,
  type ExplanationReason,
} from './explain-terms.js';

export interface ExplainInput {
  /** The affiliate the event is attributed to, or null. */
  affiliateId: string | null;
  /** That affiliate's deal; null when no affiliate is set up under `affiliateId`. */
  deal: Deal | null;
  /** The event as evaluated (a corrected `revenue.daily` carries its difference). */
  event: CommissionEvent;
  /** The state the evaluator was given, and what it returned. */
  before: CommissionState;
  evaluation: Evaluation;
  /**
   * How the ledger took each accrual, by idempotency key: `booked`, `duplicate` or the refusal
   * (`affiliate_suspended`, ...). An accrual not listed counts as booked.
   */
  ledger?: Readonly<Record<string, string>>;
  /** The exchange rates the evaluation was given. */
  fx?: FxTable;
  /** The account's day as the evaluation was given it (a `trading.volume_daily` only). */
  volumeDay?: VolumeDay | null;
}

/** The rules a deal pays under, in the order they are explained. */
export function rulesOf(deal: Deal): CommissionRule[] {
  switch (deal.model) {
    case 'hybrid':
      return ['cpa', 'revshare'];
    case 'challenge':
      return [
        ...(purchasePay(deal) ? (['challenge'] as const) : []),
        ...(deal.milestones?.length ? (['milestone'] as const) : []),
      ];
    default:
      return [deal.model];
  }
}

/** The explanation of an event no deal can judge yet: no affiliate attributed, or none set up. */
export function pendingAttribution(affiliateId: string | null): Explanation {
  return {
    affiliateId,
    dealModel: null,
    rule: null,
    outcome: 'pending_attribution',
    ...(affiliateId === null
      ? {
          reason: 'unattributed' as const,
          detail: 'the customer is attributed to no affiliate: nothing is earned until one is',
        }
      : {
          reason: 'no_deal' as const,
          detail: `affiliate ${affiliateId} is not set up, so no deal applies: nothing is earned until it is`,
        }),
  };
}

/** Explains one settled event: one entry per rule of the deal, or why there is no deal to judge it. */
export function explainEvent(input: ExplainInput): Explanation[] {
  const { affiliateId, deal } = input;
  if (affiliateId === null || deal === null) return [pendingAttribution(affiliateId)];
  return rulesOf(deal).map((rule) => ({
    affiliateId,
    dealModel: deal.model,
    rule,
    ...explainRule(input, deal, rule),
  }));
}

function explainRule(input: ExplainInput, deal: Deal, rule: CommissionRule): RuleExplanation {
  const intents = input.evaluation.intents;
  const accruals = intents.filter((i): i is AccrueIntent => i.type === 'accrue' && i.rule === rule);
  // A purchase pays every milestone that waited for it: one entry says each.
  if (accruals.length > 1) return explainAccruals(input, accruals);
  if (accruals[0]) return explainAccrual(input, accruals[0], correctionText(input));
  const compensations = intents.filter(
    (i): i is CompensateIntent => i.type === 'compensate' && i.target.rule === rule,
  );
  if (compensations.length) return explainCompensations(compensations);
  const facts = input.evaluation.state.facts;
  switch (rule) {
    case 'cpa':
      return explainCpa(deal, input.before, facts, input.fx);
    case 'revshare':
      return explainRevshare(input, facts);
    case 'lot':
      return explainLot(input, deal, facts);
    case 'challenge':
      return explainChallenge(input.event, deal, facts);
    case 'milestone':
      return explainMilestone(input.event, deal, input.before, facts);
  }
}

const LABEL: Record<CommissionRule, string> = {
  cpa: 'CPA',
  revshare: 'RevShare',
  lot: 'lot commission',
  challenge: 'challenge commission',
  milestone: 'milestone commission',
};

/** `; deposits converted at 1.0850 EUR/USD of 2026-12-04`: the rates an accrual records. */
function ratesText(fx: readonly FxQuote[] | undefined): string {
  if (!fx?.length) return '';
  const rates = fx.map((q) => `${q.rate} ${q.from}/${q.to} of ${q.date}`).join(', ');
  return `; deposits converted at ${rates}`;
}

function explainAccrual(input: ExplainInput, a: AccrueIntent, more = ''): RuleExplanation {
  const what = `${LABEL[a.rule]} of ${a.amount} ${a.currency}`;
  const answer = input.ledger?.[a.idempotencyKey] ?? 'booked';
  if (answer === 'booked') {
    const detail =
      a.rule === 'cpa'
        ? `${what} earned: every condition held at ${a.occurredAt} (event ${a.causeEventId})${ratesText(a.fx)}`
        : a.rule === 'milestone'
          ? `${what} earned: ${milestoneText(a, input.event)}`
          : `${what} earned${more}`;
    return { outcome: 'earned', reason: a.rule === 'cpa' ? 'qualified' : 'accrued', detail };
  }
  if (answer === 'affiliate_suspended')
    return {
      outcome: 'not_earned',
      reason: 'affiliate_suspended',
      detail: `the affiliate is suspended: the ${what} it would have earned is forfeited`,
    };
  if (answer === 'affiliate_not_found')
    return { outcome: 'not_earned', reason: 'no_deal', detail: `the affiliate is not set up: no ${what}` };
  return {
    outcome: 'not_earned',
    reason: 'already_paid',
    detail: `the ${what} was already booked for the same ${SAME[a.rule]} (${a.idempotencyKey})`,
  };
}

const SAME: Record<CommissionRule, string> = {
  cpa: 'customer',
  revshare: 'cause',
  lot: 'cause',
  challenge: 'cause',
  milestone: 'milestone of the challenge: a milestone pays once',
};

/** Several accruals of one rule on one event: earned if any was booked, each said in turn. */
function explainAccruals(input: ExplainInput, list: AccrueIntent[]): RuleExplanation {
  const each = list.map((a) => explainAccrual(input, a));
  const first = each.find((e) => e.outcome === 'earned') ?? each[0]!;
  return { outcome: first.outcome, reason: first.reason, detail: each.map((e) => e.detail).join('; ') };
}

function explainCompensations(list: CompensateIntent[]): RuleExplanation {
  const first = list[0]!;
  const verb = { reject: 'rejects', reverse: 'reverses', review: 'flags for review' }[first.kind];
  const detail =
    list.length === 1
      ? `${verb} the ${LABEL[first.target.rule]} earned on event ${first.target.causeEventId} (${first.reason})`
      : `${verb} ${list.length} ${LABEL[first.target.rule]}s of the customer (${first.reason})`;
  return { outcome: 'compensated', reason: first.reason, detail };
}

const notApplicable = (detail: string): RuleExplanation => ({
  outcome: 'not_applicable',
  reason: 'event_moves_no_commission',
  detail,
});

function explainRevshare(input: ExplainInput, facts: CustomerFacts): RuleExplanation {
  const event = input.event;
  if (event.type === 'deposit.chargeback')
    return {
      outcome: 'not_applicable',
      reason: 'ngr_lowered',
      detail: `the chargeback of ${event.data.amount} ${event.data.currency} lowers the month's NGR: later revenue pays nothing until it is earned back`,
    };
  if (event.type !== 'revenue.daily') return notApplicable('RevShare pays on revenue.daily only');
  const stop = blocked(facts);
  if (stop) return stop;
  const account = input.evaluation.revshareAccount;
  const { date, ngr, currency } = event.data;
  return {
    outcome: 'not_earned',
    reason: 'ngr_below_paid_level',
    detail:
      `revenue of ${date} adds NGR ${ngr} ${currency}; the month's NGR ` +
      `(${account?.level ?? ngr} ${currency}) is not above what was already paid for (${account?.paidUpTo ?? '0'} ${currency})`,
  };
}

const SOURCE_EVENT = { trades: 'trade.closed', daily_volume: 'trading.volume_daily' } as const;

function explainLot(input: ExplainInput, deal: Deal, facts: CustomerFacts): RuleExplanation {
  const event = input.event;
  const source = lotSourceOf(deal);
  if (deal.model !== 'lot' || source === null) return notApplicable('a lot deal pays on lots only');
  const other = source === 'trades' ? 'daily_volume' : 'trades';
  if (event.type === SOURCE_EVENT[other])
    return {
      outcome: 'not_applicable',
      reason: 'other_lot_source',
      detail:
        `this lot deal pays on ${SOURCE_EVENT[source]} (lotSource ${source}), not on ${event.type}: ` +
        'one source only, so the same lots are never paid twice',
    };
  if (event.type !== SOURCE_EVENT[source])
    return notApplicable(`this lot deal pays on ${SOURCE_EVENT[source]} only (lotSource ${source})`);
  const stop = blocked(facts);
  if (stop) return stop;
  if (event.type === 'trade.closed') {
    const perLot = deal.instruments?.[event.data.instrument] ?? deal.amountPerLot;
    return {
      outcome: 'not_earned',
      reason: 'zero_amount',
      detail: `${event.data.lots} lots of ${event.data.instrument} at ${perLot} ${deal.currency} per lot pay nothing`,
    };
  }
  if (event.type !== 'trading.volume_daily') return notApplicable('a lot deal pays on lots only');
  const { accountId, date, lots } = event.data;
  const before = input.volumeDay ?? null;
  const day = `account ${accountId}'s ${date}`;
  if (before && before.currency !== deal.currency)
    return {
      outcome: 'not_earned',
      reason: 'already_paid',
      detail: `${day} was paid in ${before.currency} under an earlier deal (event ${before.eventId}): a new figure pays nothing more`,
    };
  const { amount } = reviseDay(deal, before, event.id, lots);
  if (before)
    return {
      outcome: 'not_earned',
      reason: 'already_paid',
      detail:
        `${totalLots(lots)} lots replace ${day} (${totalLots(before.lots)} lots, event ${before.eventId}) and come to ` +
        `${amount} ${deal.currency}: not above the ${before.paid} ${deal.currency} the day was already paid`,
    };
  return {
    outcome: 'not_earned',
    reason: 'zero_amount',
    detail: `${totalLots(lots)} lots on ${day} at the deal's amounts per lot pay nothing`,
  };
}

/** For a corrected day of volume: `; a correction of ...`, what the accrual is the difference to. */
function correctionText(input: ExplainInput): string {
  const { event, deal, volumeDay: before } = input;
  if (event.type !== 'trading.volume_daily' || !before || deal?.model !== 'lot') return '';
  const { accountId, date, lots } = event.data;
  const { amount } = reviseDay(deal, before, event.id, lots);
  return (
    `: a correction of account ${accountId}'s ${date} to ${totalLots(lots)} lots (${amount} ${deal.currency}), ` +
    `paid ${before.paid} ${deal.currency} before (event ${before.eventId}); only the difference is booked`
  );
}

function explainChallenge(event: CommissionEvent, deal: Deal, facts: CustomerFacts): RuleExplanation {
  const pay = deal.model === 'challenge' ? purchasePay(deal) : null;
  if (event.type !== 'challenge.purchased' || !pay)
    return notApplicable('a challenge deal pays on challenge.purchased only, and milestones on theirs');
  const stop = blocked(facts);
  if (stop) return stop;
  const { challengeId, price, currency } = event.data;
  if (facts.challengeRefunds.some((r) => r.challengeId === challengeId))
    return {
      outcome: 'not_earned',
      reason: 'challenge_refund',
      detail: `challenge ${challengeId} was refunded before its purchase arrived: it pays nothing`,
    };
  return {
    outcome: 'not_earned',
    reason: 'zero_amount',
    detail:
      pay.percent !== undefined
        ? `${pay.percent}% of a price of ${price} ${currency} is nothing`
        : `the deal pays ${pay.amount} ${pay.currency} per challenge: nothing`,
  };
}
