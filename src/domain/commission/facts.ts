/**
 * What the commission engine knows of one customer, folded from their events in any arrival order. Facts
 * keep event times, so qualification can be judged as of any moment and recomputed when a late,
 * earlier-dated event arrives. Folding the same event twice changes nothing. Pure and workflow-safe.
 */
import type { InboundEventType } from '../event-types.js';
import type { Decimal } from '../money.js';
import { milestoneName, type MilestoneTrigger } from './deals.js';

export type KycStatus = 'pending' | 'verified' | 'rejected' | 'expired';
export type CustomerStatus = 'active' | 'blocked' | 'closed' | 'self_excluded' | 'duplicate';
export type FraudSeverity = 'low' | 'medium' | 'high';

/** The events the engine reads, with the `data` fields it uses (docs/api-v1.md section 3). */
export type CommissionEvent =
  | Ev<'customer.registered', { country: string }>
  | Ev<'customer.kyc_changed', { kycStatus: KycStatus }>
  | Ev<'customer.status_changed', { status: CustomerStatus; reason?: string }>
  | Ev<'customer.fraud_flagged', { flag: string; severity: FraudSeverity }>
  | Ev<'deposit.completed', { depositId: string; amount: Decimal; currency: string }>
  | Ev<'deposit.chargeback', { depositId: string; amount: Decimal; currency: string; reason?: string }>
  | Ev<'deposit.refunded', { depositId: string; amount: Decimal; currency: string }>
  | Ev<'wagering.completed', { requirementId: string }>
  | Ev<
      'revenue.daily',
      { date: string; ggr?: Decimal; bonuses?: Decimal; fees?: Decimal; ngr: Decimal; currency: string }
    >
  | Ev<'trade.closed', { tradeId: string; accountId: string; instrument: string; lots: Decimal }>
  | Ev<
      'trading.volume_daily',
      { accountId: string; date: string; lots: Record<string, Decimal>; volume?: Decimal; currency?: string }
    >
  | Ev<'challenge.purchased', { challengeId: string; planId: string; price: Decimal; currency: string }>
  | Ev<'challenge.refunded', { challengeId: string; amount: Decimal; currency: string }>
  | Ev<'challenge.phase_passed', { challengeId: string; phase: number }>
  | Ev<'funded_account.activated', { challengeId: string; accountId: string }>
  | Ev<PassiveEventType, Record<string, unknown>>;

/** Inbound types the commission engine reads: only these wake a customer's entity workflow. */
export const COMMISSION_EVENT_TYPES = [
  'customer.registered',
  'customer.kyc_changed',
  'customer.status_changed',
  'customer.fraud_flagged',
  'deposit.completed',
  'deposit.chargeback',
  'deposit.refunded',
  'wagering.completed',
  'revenue.daily',
  'trade.closed',
  'trading.volume_daily',
  'challenge.purchased',
  'challenge.refunded',
  'challenge.phase_passed',
  'funded_account.activated',
] as const satisfies readonly InboundEventType[];

/**
 * A commission event: an inbound type the commission engine reads (COMMISSION_EVENT_TYPES). Not the
 * `commission.*` notifications it emits (isCommissionNotificationType, src/domain/postback/from-event.ts).
 */
export function isCommissionEventType(type: string): boolean {
  return (COMMISSION_EVENT_TYPES as readonly string[]).includes(type);
}

/** Inbound types that move no commission. */
export type PassiveEventType = Exclude<InboundEventType, (typeof COMMISSION_EVENT_TYPES)[number]>;

interface Ev<T extends InboundEventType, D> {
  /** The operator's event id. */
  id: string;
  type: T;
  /** RFC 3339 UTC. */
  occurredAt: string;
  data: D;
}

export interface Deposit {
  depositId: string;
  eventId: string;
  occurredAt: string;
  amount: Decimal;
  currency: string;
}

/** A chargeback or refund against a deposit; it may arrive before the deposit it names. */
export interface DepositReturn {
  kind: 'chargeback' | 'refund';
  eventId: string;
  depositId: string;
  occurredAt: string;
  amount: Decimal;
  currency: string;
}

export interface Timed<T> {
  value: T;
  at: string;
  eventId: string;
}

export interface CustomerFacts {
  customerId: string;
  /** The registration, earliest by event time if the operator sent two. */
  registration: { at: string; eventId: string; country: string } | null;
  /** Every KYC change, ascending by event time: the status at a moment is the last one before it. */
  kyc: Timed<KycStatus>[];
  /** Each `wagering.completed`, ascending by event time. */
  wagering: { at: string; eventId: string }[];
  /** Deposits, ascending by event time; one per deposit id. */
  deposits: Deposit[];
  returns: DepositReturn[];
  /** The latest account status by event time. */
  status: Timed<CustomerStatus> | null;
  /** The first high-severity fraud flag; there is no event that clears one. */
  fraudHigh: Timed<string> | null;
  /** Challenges refunded, whether or not their purchase has arrived yet. */
  challengeRefunds: { challengeId: string; at: string; eventId: string }[];
  /**
   * Challenges not refunded that were bought or reached a milestone: absent in facts folded before
   * milestones existed (read it with `challengesOf`).
   */
  challenges?: ChallengeFacts[];
}

/** A milestone a trader reached: the `challenge.phase_passed` or `funded_account.activated` that says so. */
export interface ReachedMilestone {
  trigger: MilestoneTrigger;
  eventId: string;
  at: string;
}

/**
 * One challenge, as far as milestones need it: its purchase (the price a percent milestone pays on) and
 * the milestones reached before the purchase arrived, which wait for it. The waiting list is emptied by
 * the purchase (its evaluation pays them) and the whole entry dropped by a refund, so what is kept is the
 * price of each challenge bought and not refunded, and what still waits.
 */
export interface ChallengeFacts {
  challengeId: string;
  purchase: { price: Decimal; currency: string; eventId: string; at: string } | null;
  waiting: ReachedMilestone[];
}

export function emptyFacts(customerId: string): CustomerFacts {
  return {
    customerId,
    registration: null,
    kyc: [],
    wagering: [],
    deposits: [],
    returns: [],
    status: null,
    fraudHigh: null,
    challengeRefunds: [],
    challenges: [],
  };
}

export function challengesOf(facts: CustomerFacts): ChallengeFacts[] {
  return facts.challenges ?? [];
}

/** The challenge's entry, or null: never bought nor reached, or refunded. */
export function challengeOf(facts: CustomerFacts, challengeId: string): ChallengeFacts | null {
  return challengesOf(facts).find((c) => c.challengeId === challengeId) ?? null;
}

export function isRefunded(facts: CustomerFacts, challengeId: string): boolean {
  return facts.challengeRefunds.some((r) => r.challengeId === challengeId);
}

/** The milestone an event says the trader reached, or null for any other event. */
export function reachedBy(event: CommissionEvent): { challengeId: string; reached: ReachedMilestone } | null {
  const at = event.occurredAt;
  if (event.type === 'challenge.phase_passed')
    return {
      challengeId: event.data.challengeId,
      reached: { trigger: { on: 'phase_passed', phase: event.data.phase }, eventId: event.id, at },
    };
  if (event.type === 'funded_account.activated')
    return {
      challengeId: event.data.challengeId,
      reached: { trigger: { on: 'funded' }, eventId: event.id, at },
    };
  return null;
}

function withChallenge(facts: CustomerFacts, next: ChallengeFacts): CustomerFacts {
  const others = challengesOf(facts).filter((c) => c.challengeId !== next.challengeId);
  return { ...facts, challenges: [...others, next] };
}

/** The facts after a purchase or a milestone of a challenge not refunded. */
function applyChallenge(facts: CustomerFacts, event: CommissionEvent): CustomerFacts {
  if (event.type === 'challenge.purchased') {
    const { challengeId, price, currency } = event.data;
    if (isRefunded(facts, challengeId)) return facts;
    const current = challengeOf(facts, challengeId);
    const purchase = { price, currency, eventId: event.id, at: event.occurredAt };
    // The first purchase by event time sets the price; what waited for it is paid by this evaluation.
    if (current?.purchase && byTime(current.purchase, purchase) <= 0) return facts;
    return withChallenge(facts, { challengeId, purchase, waiting: [] });
  }
  const reached = reachedBy(event);
  if (!reached || isRefunded(facts, reached.challengeId)) return facts;
  const current = challengeOf(facts, reached.challengeId);
  if (current?.purchase) return facts; // paid, or not, by this event's own evaluation: nothing waits
  const name = milestoneName(reached.reached.trigger);
  const waiting = current?.waiting ?? [];
  const same = waiting.find((w) => milestoneName(w.trigger) === name);
  // A milestone sent twice waits once, as its earliest report.
  if (same && byTime(same, reached.reached) <= 0) return facts;
  return withChallenge(facts, {
    challengeId: reached.challengeId,
    purchase: null,
    waiting: [...waiting.filter((w) => w !== same), reached.reached].sort(byTime),
  });
}

/** Event-time order; ties broken by event id so every fold of the same events agrees. */
export function byTime(a: { at: string; eventId: string }, b: { at: string; eventId: string }): number {
  const d = Date.parse(a.at) - Date.parse(b.at);
  return d !== 0 ? d : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

function insertTimed<T extends { at: string; eventId: string }>(list: readonly T[], item: T): T[] {
  if (list.some((x) => x.eventId === item.eventId)) return [...list];
  return [...list, item].sort(byTime);
}

function later<T>(current: Timed<T> | null, next: Timed<T>): Timed<T> {
  return current === null || byTime(current, next) < 0 ? next : current;
}

/** The facts after one more event. Returns a new object; the input is not changed. */
export function applyEvent(facts: CustomerFacts, event: CommissionEvent): CustomerFacts {
  const at = event.occurredAt;
  const eventId = event.id;
  switch (event.type) {
    case 'customer.registered': {
      const next = { at, eventId, country: event.data.country };
      const keep = facts.registration && byTime(facts.registration, next) <= 0;
      return { ...facts, registration: keep ? facts.registration : next };
    }
    case 'customer.kyc_changed':
      return { ...facts, kyc: insertTimed(facts.kyc, { value: event.data.kycStatus, at, eventId }) };
    case 'customer.status_changed':
      return { ...facts, status: later(facts.status, { value: event.data.status, at, eventId }) };
    case 'customer.fraud_flagged': {
      if (event.data.severity !== 'high') return facts;
      const flag = { value: event.data.flag, at, eventId };
      return {
        ...facts,
        fraudHigh: facts.fraudHigh && byTime(facts.fraudHigh, flag) <= 0 ? facts.fraudHigh : flag,
      };
    }
    case 'deposit.completed': {
      if (facts.deposits.some((d) => d.depositId === event.data.depositId)) return facts;
      const deposit: Deposit = {
        depositId: event.data.depositId,
        eventId,
        occurredAt: at,
        amount: event.data.amount,
        currency: event.data.currency,
      };
      const deposits = [...facts.deposits, deposit].sort((a, b) =>
        byTime({ at: a.occurredAt, eventId: a.eventId }, { at: b.occurredAt, eventId: b.eventId }),
      );
      return { ...facts, deposits };
    }
    case 'deposit.chargeback':
    case 'deposit.refunded': {
      if (facts.returns.some((r) => r.eventId === eventId)) return facts;
      const entry: DepositReturn = {
        kind: event.type === 'deposit.chargeback' ? 'chargeback' : 'refund',
        eventId,
        depositId: event.data.depositId,
        occurredAt: at,
        amount: event.data.amount,
        currency: event.data.currency,
      };
      return { ...facts, returns: [...facts.returns, entry] };
    }
    case 'wagering.completed':
      return { ...facts, wagering: insertTimed(facts.wagering, { at, eventId }) };
    case 'challenge.purchased':
    case 'challenge.phase_passed':
    case 'funded_account.activated':
      return applyChallenge(facts, event);
    case 'challenge.refunded':
      return {
        ...facts,
        // A refunded challenge pays nothing more: its price and whatever waited for it are let go.
        challenges: challengesOf(facts).filter((c) => c.challengeId !== event.data.challengeId),
        challengeRefunds: insertTimed(facts.challengeRefunds, {
          challengeId: event.data.challengeId,
          at,
          eventId,
        }),
      };
    default:
      return facts;
  }
}

/** The KYC status at a moment of event time (inclusive), or null before any KYC event. */
export function kycAt(facts: CustomerFacts, at: string): KycStatus | null {
  let status: KycStatus | null = null;
  for (const k of facts.kyc) {
    if (Date.parse(k.at) <= Date.parse(at)) status = k.value;
    else break;
  }
  return status;
}

/** The latest KYC status by event time. */
export function currentKyc(facts: CustomerFacts): KycStatus | null {
  return facts.kyc[facts.kyc.length - 1]?.value ?? null;
}

/** Why no new commission may accrue for this customer under any rule, or null. */
export function accrualBlocker(
  facts: CustomerFacts,
): 'self_exclusion' | 'fraud_high' | 'kyc_rejected' | null {
  if (facts.status?.value === 'self_excluded') return 'self_exclusion';
  if (facts.fraudHigh) return 'fraud_high';
  if (currentKyc(facts) === 'rejected') return 'kyc_rejected';
  return null;
}
