/**
 * The commission evaluator: one customer event in, the ledger intents it causes out. It folds the event
 * into the customer's facts, compensates what the event undoes (chargeback, refund, high-severity fraud,
 * KYC rejection, self-exclusion, duplicate account, challenge refund) and accrues what the deal pays
 * for. It books nothing itself: an activity turns the intents into ledger calls inside one transaction.
 *
 * Idempotency is layered. The evaluator skips an event id it has seen and remembers each commission it
 * accrued by its idempotency key, while the caller keeps them; the ledger refuses a second entry with the
 * same key. Between settlements the caller keeps only `storedState`: the ledger's keys suffice. A key names the
 * business fact a rule pays for at most once:
 *
 * | rule      | key                            | paid once per   |
 * |-----------|--------------------------------|-----------------|
 * | cpa       | `cpa/<customerId>`             | customer        |
 * | revshare  | `revshare/<eventId>`           | revenue event   |
 * | lot       | `lot/<accountId>/<tradeId>`    | closed trade    |
 * | challenge | `challenge/<challengeId>`      | challenge       |
 *
 * (`/` cannot occur in an operator's ids, so the parts never run together.)
 *
 * Times are event times. A commission's hold and clawback window both run from its own event time: the
 * moment of qualification for a CPA, the event's `occurredAt` otherwise. Pure and workflow-safe.
 */
import { parseDuration } from '../duration.js';
import { isPositive, minorUnits, mul, neg, percentOf, type Decimal } from '../money.js';
import {
  cpaTermsOf,
  revshareTermsOf,
  type CommissionRule,
  type CpaTerms,
  type Deal,
  type DealModel,
} from './deals.js';
import {
  accrualBlocker,
  applyEvent,
  currentKyc,
  emptyFacts,
  type CommissionEvent,
  type CustomerFacts,
} from './facts.js';
import { cpaQualification } from './qualification.js';
import { applyRevenue, type RevshareAccount } from './revshare.js';

/** Why a commission is compensated; shown to the affiliate. */
export const REASON_CODES = [
  'chargeback',
  'refund',
  'fraud_high',
  'kyc_rejected',
  'self_exclusion',
  'challenge_refund',
  /** The customer was marked a duplicate account: the CPA is not payable. */
  'duplicate',
  /** A late, earlier-dated event means the CPA's conditions no longer hold: a person should look. */
  'qualification_changed',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export type CommissionStatus = 'pending' | 'approved' | 'rejected' | 'reversed';

/** What the evaluator remembers of a commission it asked to accrue. */
export interface AccruedCommission {
  rule: CommissionRule;
  model: DealModel;
  idempotencyKey: string;
  causeEventId: string;
  amount: Decimal;
  currency: string;
  occurredAt: string;
  holdUntil: string;
  clawbackUntil: string;
  /** As far as the evaluator knows: its own compensations, and approvals reported by `withStatus`. */
  status: CommissionStatus;
  /** The challenge a `challenge` commission pays for. */
  challengeId?: string;
  /** The terms a CPA was earned under, so a later chargeback is judged by them, not by a newer deal. */
  cpaTerms?: CpaTerms;
}

/** The evaluator's state for one customer: kept by the caller (the customer's entity workflow). */
export interface CommissionState {
  facts: CustomerFacts;
  commissions: AccruedCommission[];
  /** Event ids evaluated, so a replayed event changes nothing. */
  seenEventIds: string[];
}

export interface AccrueIntent {
  type: 'accrue';
  rule: CommissionRule;
  model: DealModel;
  idempotencyKey: string;
  /** The event that earned it: for a CPA, the one that completed the qualification. */
  causeEventId: string;
  customerId: string;
  /** Rounded to the currency's minor unit; always positive. */
  amount: Decimal;
  currency: string;
  occurredAt: string;
  holdUntil: string;
  clawbackUntil: string;
}

export interface CompensateIntent {
  type: 'compensate';
  /**
   * `reject` while pending; `reverse` once approved, within the clawback window; `review` after it, or
   * whatever the status for `qualification_changed`. Apply `review` with the ledger's `flagForReview`
   * (it must not reject a pending commission), and `reject` or `reverse` with its `compensate`, which
   * makes the choice again under the row lock in case a hold timer approved the commission meanwhile.
   */
  kind: 'reject' | 'reverse' | 'review';
  reason: ReasonCode;
  /** The event that undoes the commission. */
  causeEventId: string;
  occurredAt: string;
  target: { rule: CommissionRule; idempotencyKey: string; causeEventId: string };
}

export type LedgerIntent = AccrueIntent | CompensateIntent;

export interface EvaluationInput {
  /** The affiliate's deal; null when the customer has no active affiliate: facts fold, nothing accrues. */
  deal: Deal | null;
  state: CommissionState;
  event: CommissionEvent;
  /**
   * The affiliate's RevShare account in the currency of a `revenue.daily` or `deposit.chargeback` event;
   * null for the first.
   * Ignored for other events.
   */
  revshareAccount?: RevshareAccount | null;
}

export interface Evaluation {
  state: CommissionState;
  intents: LedgerIntent[];
  /** The RevShare account after a `revenue.daily` or a chargeback under a RevShare deal; otherwise as given. */
  revshareAccount: RevshareAccount | null;
}

export function initialState(customerId: string): CommissionState {
  return { facts: emptyFacts(customerId), commissions: [], seenEventIds: [] };
}

export const idempotencyKeys = {
  cpa: (customerId: string) => `cpa/${customerId}`,
  revshare: (eventId: string) => `revshare/${eventId}`,
  lot: (accountId: string, tradeId: string) => `lot/${accountId}/${tradeId}`,
  challenge: (challengeId: string) => `challenge/${challengeId}`,
};

/**
 * What a customer's state keeps between settlements: the facts and the CPA, whatever its status (one per
 * customer; its terms judge a later chargeback, and a forfeited one must not be earned again). Not the
 * other commissions, one per trade, revenue day or challenge, nor the event ids seen: the settlement
 * folds each event once (`events.settled_at`), the ledger's unique keys refuse a second accrual, and the
 * few events that compensate other commissions get them from the ledger first (`commissionsNeeded`). So
 * the stored state does not grow with the commissions, open or closed.
 */
export function storedState(state: CommissionState): CommissionState {
  return {
    facts: state.facts,
    commissions: state.commissions.filter((c) => c.rule === 'cpa'),
    seenEventIds: [],
  };
}

/**
 * The customer's open commissions, beyond those `storedState` keeps, that evaluating `event` on top of
 * `facts` may compensate: all of them when the event blocks the customer (fraud, KYC rejection,
 * self-exclusion), a challenge's when it refunds one; none for any other event.
 */
export function commissionsNeeded(
  facts: CustomerFacts,
  event: CommissionEvent,
): { all: true } | { keys: string[] } | null {
  if (sweeps(facts, applyEvent(facts, event)).some((s) => s.rule !== 'cpa')) return { all: true };
  if (event.type === 'challenge.refunded')
    return { keys: [idempotencyKeys.challenge(event.data.challengeId)] };
  return null;
}

/** The state with one commission's status as the ledger reports it (after a hold timer's approval, say). */
export function withStatus(
  state: CommissionState,
  idempotencyKey: string,
  status: CommissionStatus,
): CommissionState {
  return {
    ...state,
    commissions: state.commissions.map((c) => (c.idempotencyKey === idempotencyKey ? { ...c, status } : c)),
  };
}

/** `at` plus a duration string, as RFC 3339 UTC. */
export function addDuration(at: string, duration: string): string {
  return new Date(Date.parse(at) + parseDuration(duration)).toISOString();
}

const isOpen = (c: AccruedCommission) => c.status === 'pending' || c.status === 'approved';

/** Evaluates one event. Returns the next state and the intents; the input state is not changed. */
export function evaluate(input: EvaluationInput): Evaluation {
  const { deal, event } = input;
  const account = input.revshareAccount ?? null;
  if (input.state.seenEventIds.includes(event.id))
    return { state: input.state, intents: [], revshareAccount: account };

  const before = input.state.facts;
  const facts = applyEvent(before, event);
  const run = new Run(input.state.commissions, event);

  compensate(run, before, facts);

  let revshareAccount = account;
  const revshare = deal ? revshareTermsOf(deal) : null;
  if (revshare && event.type === 'deposit.chargeback') {
    // A chargeback lowers the current period's NGR: later days pay nothing until it is earned back.
    revshareAccount = applyRevenue(revshare, account, {
      date: event.occurredAt.slice(0, 10),
      ngr: neg(event.data.amount),
      currency: event.data.currency,
    }).account;
  }
  const blocker = accrualBlocker(facts);
  if (deal && !blocker) {
    accrueCpa(run, deal, facts);
    revshareAccount = accrueRevshare(run, deal, facts, revshareAccount);
    accrueLot(run, deal, facts);
    accrueChallenge(run, deal, facts);
  }

  return {
    state: { facts, commissions: run.commissions, seenEventIds: [...input.state.seenEventIds, event.id] },
    intents: run.intents,
    revshareAccount,
  };
}

/** One evaluation's working set: the commissions as they change, and the intents so far. */
class Run {
  readonly intents: LedgerIntent[] = [];
  readonly compensated = new Set<string>();
  commissions: AccruedCommission[];

  constructor(
    commissions: AccruedCommission[],
    readonly event: CommissionEvent,
  ) {
    this.commissions = [...commissions];
  }

  has(key: string): boolean {
    return this.commissions.some((c) => c.idempotencyKey === key);
  }

  /**
   * Compensates one commission for this event, if it is still open and this event has not already
   * touched it. `reviewOnly` flags it for a person whatever its status: nothing moves but a flag.
   */
  compensate(idempotencyKey: string, reason: ReasonCode, reviewOnly = false): void {
    const target = this.commissions.find((c) => c.idempotencyKey === idempotencyKey);
    if (!target || !isOpen(target) || this.compensated.has(idempotencyKey)) return;
    const at = this.event.occurredAt;
    const kind = reviewOnly
      ? 'review'
      : target.status === 'pending'
        ? 'reject'
        : Date.parse(at) <= Date.parse(target.clawbackUntil)
          ? 'reverse'
          : 'review';
    this.compensated.add(idempotencyKey);
    this.intents.push({
      type: 'compensate',
      kind,
      reason,
      causeEventId: this.event.id,
      occurredAt: new Date(Date.parse(at)).toISOString(),
      target: { rule: target.rule, idempotencyKey, causeEventId: target.causeEventId },
    });
    if (kind === 'review') return; // a review moves nothing: the commission stays open
    const status = kind === 'reject' ? 'rejected' : 'reversed';
    this.commissions = this.commissions.map((c) =>
      c.idempotencyKey === idempotencyKey ? { ...c, status } : c,
    );
  }

  accrue(
    deal: Deal,
    rule: CommissionRule,
    fields: {
      idempotencyKey: string;
      causeEventId: string;
      customerId: string;
      amount: Decimal;
      currency: string;
      occurredAt: string;
    },
    extra: Pick<AccruedCommission, 'challengeId' | 'cpaTerms'> = {},
  ): void {
    if (this.has(fields.idempotencyKey) || !isPositive(fields.amount)) return;
    const occurredAt = new Date(Date.parse(fields.occurredAt)).toISOString();
    const intent: AccrueIntent = {
      type: 'accrue',
      rule,
      model: deal.model,
      ...fields,
      occurredAt,
      holdUntil: addDuration(occurredAt, deal.holdPeriod),
      clawbackUntil: addDuration(occurredAt, deal.clawbackWindow),
    };
    this.intents.push(intent);
    this.commissions.push({
      rule,
      model: deal.model,
      idempotencyKey: intent.idempotencyKey,
      causeEventId: intent.causeEventId,
      amount: intent.amount,
      currency: intent.currency,
      occurredAt,
      holdUntil: intent.holdUntil,
      clawbackUntil: intent.clawbackUntil,
      status: 'pending',
      ...extra,
    });
  }
}

/**
 * The compensations of many commissions at once that a change of the facts brings about, in order: each
 * applies to every open commission (of `rule`, when given).
 */
function sweeps(
  before: CustomerFacts,
  facts: CustomerFacts,
): { reason: ReasonCode; rule?: CommissionRule }[] {
  const out: { reason: ReasonCode; rule?: CommissionRule }[] = [];
  if (!before.fraudHigh && facts.fraudHigh) out.push({ reason: 'fraud_high' });
  if (currentKyc(before) !== 'rejected' && currentKyc(facts) === 'rejected')
    out.push({ reason: 'kyc_rejected' });
  const wasStatus = before.status?.value;
  const isStatus = facts.status?.value;
  if (wasStatus !== 'self_excluded' && isStatus === 'self_excluded') out.push({ reason: 'self_exclusion' });
  if (wasStatus !== 'duplicate' && isStatus === 'duplicate') out.push({ reason: 'duplicate', rule: 'cpa' });
  return out;
}

function compensate(run: Run, before: CustomerFacts, facts: CustomerFacts): void {
  const event = run.event;
  for (const { reason, rule } of sweeps(before, facts))
    for (const c of run.commissions.filter((c) => rule === undefined || c.rule === rule))
      run.compensate(c.idempotencyKey, reason);
  if (event.type === 'challenge.refunded') {
    for (const c of run.commissions)
      if (c.rule === 'challenge' && c.challengeId === event.data.challengeId)
        run.compensate(c.idempotencyKey, 'challenge_refund');
  }
  // A CPA whose conditions held before this event and no longer do: clawed back for a chargeback or a
  // refund; flagged for review when a late, earlier-dated event changed the picture.
  for (const c of run.commissions) {
    if (c.rule !== 'cpa' || !c.cpaTerms) continue;
    if (!cpaQualification(c.cpaTerms, before).qualified || cpaQualification(c.cpaTerms, facts).qualified)
      continue;
    if (event.type === 'deposit.chargeback') run.compensate(c.idempotencyKey, 'chargeback');
    else if (event.type === 'deposit.refunded') run.compensate(c.idempotencyKey, 'refund');
    else run.compensate(c.idempotencyKey, 'qualification_changed', true);
  }
}

function accrueCpa(run: Run, deal: Deal, facts: CustomerFacts): void {
  const terms = cpaTermsOf(deal);
  if (!terms || facts.status?.value === 'duplicate') return;
  const key = idempotencyKeys.cpa(facts.customerId);
  if (run.has(key)) return;
  const q = cpaQualification(terms, facts);
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
    },
    { cpaTerms: terms },
  );
}

function accrueRevshare(
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

function accrueLot(run: Run, deal: Deal, facts: CustomerFacts): void {
  const event = run.event;
  if (deal.model !== 'lot' || event.type !== 'trade.closed') return;
  const perLot = deal.instruments?.[event.data.instrument] ?? deal.amountPerLot;
  run.accrue(deal, 'lot', {
    idempotencyKey: idempotencyKeys.lot(event.data.accountId, event.data.tradeId),
    causeEventId: event.id,
    customerId: facts.customerId,
    amount: mul(perLot, event.data.lots, minorUnits(deal.currency)),
    currency: deal.currency,
    occurredAt: event.occurredAt,
  });
}

function accrueChallenge(run: Run, deal: Deal, facts: CustomerFacts): void {
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
