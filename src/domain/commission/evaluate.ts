/**
 * The commission evaluator: one customer event in, the ledger intents it causes out. It folds the event
 * into the customer's facts, compensates what the event undoes (chargeback, refund, high-severity fraud,
 * KYC rejection, self-exclusion, duplicate account, challenge refund) and accrues what the deal pays
 * for. It books nothing itself: an activity turns the intents into ledger calls inside one transaction.
 *
 * Idempotency is layered. The evaluator skips an event id it has seen and remembers each commission it
 * accrued by its idempotency key, while the caller keeps them; the ledger refuses a second entry with the
 * same key. Between settlements the caller keeps only `storedState`: the ledger's keys suffice. A key names the
 * business fact a rule pays for at most once (the table is in intents.ts).
 *
 * Times are event times. A commission's hold and clawback window both run from its own event time: the
 * moment of qualification for a CPA, the event's `occurredAt` otherwise. Pure and workflow-safe.
 */
import type { FxTable } from '../fx.js';
import { neg } from '../money.js';
import { accrueChallenge, accrueCpa, accrueLot, accrueMilestones, accrueRevshare } from './accruals.js';
import { compensate, sweeps } from './compensations.js';
import { revshareTermsOf, type Deal } from './deals.js';
import { Run } from './evaluation-run.js';
import { accrualBlocker, applyEvent, emptyFacts, type CommissionEvent, type CustomerFacts } from './facts.js';
import {
  idempotencyKeys,
  type CommissionState,
  type CommissionStatus,
  type LedgerIntent,
} from './intents.js';
import { applyRevenue, type RevshareAccount } from './revshare.js';
import type { VolumeDay } from './volume-day.js';

export { addDuration } from './evaluation-run.js';
export {
  REASON_CODES,
  idempotencyKeys,
  type AccrueIntent,
  type AccruedCommission,
  type CommissionState,
  type CommissionStatus,
  type CompensateIntent,
  type LedgerIntent,
  type ReasonCode,
} from './intents.js';

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
  /**
   * The operator's exchange rates for the deposits the deal's CPA counts in another currency (resolved by
   * the caller, `ratesNeededFor`); a rate missing here makes the CPA wait (`fx_rate_missing`).
   */
  fx?: FxTable;
  /**
   * The account's day a `trading.volume_daily` names, as the settlement keeps it (volume-day.ts); null for
   * its first figure. Ignored for other events.
   */
  volumeDay?: VolumeDay | null;
}

export interface Evaluation {
  state: CommissionState;
  intents: LedgerIntent[];
  /** The RevShare account after a `revenue.daily` or a chargeback under a RevShare deal; otherwise as given. */
  revshareAccount: RevshareAccount | null;
  /** The day after a `trading.volume_daily` a lot deal pays on; otherwise as given. */
  volumeDay: VolumeDay | null;
}

export function initialState(customerId: string): CommissionState {
  return { facts: emptyFacts(customerId), commissions: [], seenEventIds: [] };
}

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
 * self-exclusion), a challenge's (its purchase's, by key, and its milestones', by the start of their
 * keys) when it refunds one; none for any other event.
 */
export function commissionsNeeded(
  facts: CustomerFacts,
  event: CommissionEvent,
): { all: true } | { keys: string[]; prefixes?: string[] } | null {
  if (sweeps(facts, applyEvent(facts, event)).some((s) => s.rule !== 'cpa')) return { all: true };
  if (event.type === 'challenge.refunded')
    return {
      keys: [idempotencyKeys.challenge(event.data.challengeId)],
      prefixes: [idempotencyKeys.milestonesOf(event.data.challengeId)],
    };
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

/** Evaluates one event. Returns the next state and the intents; the input state is not changed. */
export function evaluate(input: EvaluationInput): Evaluation {
  const { deal, event } = input;
  const account = input.revshareAccount ?? null;
  let volumeDay = input.volumeDay ?? null;
  if (input.state.seenEventIds.includes(event.id))
    return { state: input.state, intents: [], revshareAccount: account, volumeDay };

  const before = input.state.facts;
  const facts = applyEvent(before, event);
  const run = new Run(input.state.commissions, event, input.fx ?? {});

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
    volumeDay = accrueLot(run, deal, facts, volumeDay);
    accrueChallenge(run, deal, facts);
    accrueMilestones(run, deal, before, facts);
  }

  return {
    state: { facts, commissions: run.commissions, seenEventIds: [...input.state.seenEventIds, event.id] },
    intents: run.intents,
    revshareAccount,
    volumeDay,
  };
}
