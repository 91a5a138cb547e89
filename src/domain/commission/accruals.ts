/**
 * What a deal pays for, one rule each: the CPA once the customer qualifies, RevShare on a day's revenue, a
 * closed trade's lots or an account's day of lots (as the lot deal's source says), a purchased challenge. Each accrues through the run, which skips a key already
 * accrued. Pure and workflow-safe.
 */
import { minorUnits, mul, percentOf } from '../money.js';
import { cpaTermsOf, lotSourceOf, revshareTermsOf, type Deal } from './deals.js';
import type { CustomerFacts } from './facts.js';
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

export function accrueChallenge(run: Run, deal: Deal, facts: CustomerFacts): void {
  const event = run.event;
  if (deal.model !== 'challenge' || event.type !== 'challenge.purchased') return;
  const { challengeId, price, currency: priceCurrency } = event.data;
  // A refund that arrived before its purchase: the challenge pays nothing.
  if (facts.challengeRefunds.some((r) => r.challengeId === challengeId)) return;
  const [amount, currency] =
    'percent' in deal
      ? [percentOf(price, deal.percent, minorUnits(priceCurrency)), priceCurrency]
      : [deal.amount, deal.currency];
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
