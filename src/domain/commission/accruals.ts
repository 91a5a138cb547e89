/**
 * What a deal pays for, one rule each: the CPA once the customer qualifies, RevShare on a day's revenue, a
 * closed trade's lots or an account's day of lots (as the lot deal's source says), a purchased challenge and
 * the milestones reached in it. Each accrues through the run, which skips a key already accrued. Pure and
 * workflow-safe.
 */
import { minorUnits, mul, percentOf, type Decimal } from '../money.js';
import {
  cpaTermsOf,
  lotSourceOf,
  milestoneOf,
  purchasePay,
  revshareTermsOf,
  type ChallengePay,
  type Deal,
} from './deals.js';
import { challengeOf, isRefunded, reachedBy, type CustomerFacts, type ReachedMilestone } from './facts.js';
import { idempotencyKeys } from './intents.js';
import type { Run } from './evaluation-run.js';
import { cpaQualification } from './qualification.js';
import { applyRevenue, type RevshareAccount } from './revshare.js';
import { reviseDay, type VolumeDay } from './volume-day.js';

export function accrueCpa(run: Run, deal: Deal, facts: CustomerFacts): void {
  const terms = cpaTermsOf(deal);
  if (!terms || facts.status?.value === 'duplicate') return;
  const key = idempotencyKeys.cpa(facts.customerId);
  if (run.has(key)) return;
  const q = cpaQualification(terms, facts, run.fx);
  if (!q.qualified) return;
  run.accrue(
    deal,
    'cpa',
    {
      idempotencyKey: key,
      causeEventId: q.causeEventId,
      customerId: facts.customerId,
      amount: terms.amount,
      currency: terms.currency,
      occurredAt: q.at,
      fx: q.fx,
    },
    { cpaTerms: terms },
  );
}

export function accrueRevshare(
  run: Run,
  deal: Deal,
  facts: CustomerFacts,
  account: RevshareAccount | null,
): RevshareAccount | null {
  const terms = revshareTermsOf(deal);
  const event = run.event;
  if (!terms || event.type !== 'revenue.daily') return account;
  const { commission, account: next } = applyRevenue(terms, account, event.data);
  run.accrue(deal, 'revshare', {
    idempotencyKey: idempotencyKeys.revshare(event.id),
    causeEventId: event.id,
    customerId: facts.customerId,
    amount: commission,
    currency: event.data.currency,
    occurredAt: event.occurredAt,
  });
  return next;
}

/**
 * A lot deal's commission on the source it pays on: a closed trade's lots, or the difference an account's
 * day of lots makes to what the day was paid (volume-day.ts). Returns the day after the event; `day` as
 * given for any other event.
 */
export function accrueLot(
  run: Run,
  deal: Deal,
  facts: CustomerFacts,
  day: VolumeDay | null = null,
): VolumeDay | null {
  const event = run.event;
  if (deal.model !== 'lot') return day;
  const source = lotSourceOf(deal);
  if (source === 'trades' && event.type === 'trade.closed') {
    const perLot = deal.instruments?.[event.data.instrument] ?? deal.amountPerLot;
    run.accrue(deal, 'lot', {
      idempotencyKey: idempotencyKeys.lot(event.data.accountId, event.data.tradeId),
      causeEventId: event.id,
      customerId: facts.customerId,
      amount: mul(perLot, event.data.lots, minorUnits(deal.currency)),
      currency: deal.currency,
      occurredAt: event.occurredAt,
    });
    return day;
  }
  if (source !== 'daily_volume' || event.type !== 'trading.volume_daily') return day;
  const { accountId, date, lots } = event.data;
  const revision = reviseDay(deal, day, event.id, lots);
  run.accrue(deal, 'lot', {
    idempotencyKey: idempotencyKeys.lotDay(accountId, date, event.id),
    causeEventId: event.id,
    customerId: facts.customerId,
    amount: revision.due,
    currency: deal.currency,
    occurredAt: event.occurredAt,
  });
  return revision.day;
}

/** What `pay` comes to on a challenge of `price`: a percent of it in its currency, or the fixed amount. */
export function challengeAmount(pay: ChallengePay, price: Decimal, priceCurrency: string): [Decimal, string] {
  return pay.percent !== undefined
    ? [percentOf(price, pay.percent, minorUnits(priceCurrency)), priceCurrency]
    : [pay.amount, pay.currency];
}

export function accrueChallenge(run: Run, deal: Deal, facts: CustomerFacts): void {
  const event = run.event;
  if (deal.model !== 'challenge' || event.type !== 'challenge.purchased') return;
  const pay = purchasePay(deal);
  const { challengeId, price, currency: priceCurrency } = event.data;
  // A refund that arrived before its purchase: the challenge pays nothing.
  if (!pay || isRefunded(facts, challengeId)) return;
  const [amount, currency] = challengeAmount(pay, price, priceCurrency);
  run.accrue(
    deal,
    'challenge',
    {
      idempotencyKey: idempotencyKeys.challenge(challengeId),
      causeEventId: event.id,
      customerId: facts.customerId,
      amount,
      currency,
      occurredAt: event.occurredAt,
    },
    { challengeId },
  );
}

/**
 * The milestones of a challenge deal: a milestone reached in a challenge whose purchase is known pays at
 * once; one reached before its purchase arrived waits in the facts and is paid by the purchase's
 * evaluation, at its own event time. A refunded challenge pays none; the ledger's key pays each once.
 */
export function accrueMilestones(run: Run, deal: Deal, before: CustomerFacts, facts: CustomerFacts): void {
  const event = run.event;
  if (deal.model !== 'challenge' || !deal.milestones?.length) return;
  if (event.type === 'challenge.purchased') {
    const { challengeId } = event.data;
    if (isRefunded(facts, challengeId)) return;
    for (const reached of challengeOf(before, challengeId)?.waiting ?? [])
      accrueMilestone(run, deal, facts, challengeId, reached);
    return;
  }
  const r = reachedBy(event);
  if (r && !isRefunded(facts, r.challengeId)) accrueMilestone(run, deal, facts, r.challengeId, r.reached);
}

function accrueMilestone(
  run: Run,
  deal: Deal,
  facts: CustomerFacts,
  challengeId: string,
  reached: ReachedMilestone,
): void {
  const milestone = milestoneOf(deal, reached.trigger);
  const purchase = challengeOf(facts, challengeId)?.purchase;
  if (!milestone || !purchase) return;
  const [amount, currency] = challengeAmount(milestone, purchase.price, purchase.currency);
  run.accrue(
    deal,
    'milestone',
    {
      idempotencyKey: idempotencyKeys.milestone(challengeId, reached.trigger),
      causeEventId: reached.eventId,
      customerId: facts.customerId,
      amount,
      currency,
      occurredAt: reached.at,
    },
    { challengeId },
  );
}
