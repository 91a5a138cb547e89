import { openCommissions, statusesByKey } from '../db/commission-holds.js';
import { parkEvent } from '../db/events.js';
import {
  bookAccrual,
  compensate,
  findAffiliate,
  findEntryByKey,
  flagForReview,
  type LedgerResult,
} from '../db/ledger.js';
import type { Queryable } from '../db/pool.js';
import {
  customerAttribution,
  lockCustomerState,
  markSettled,
  revshareAccountForUpdate,
  saveCustomerState,
  saveRevshareAccount,
  savepoints,
  unsettledEvents,
} from '../db/settlement.js';
import { revshareTermsOf, type Deal } from '../domain/commission/deals.js';
import {
  commissionsNeeded,
  evaluate,
  initialState,
  storedState,
  withStatus,
  type AccruedCommission,
  type CommissionState,
  type LedgerIntent,
} from '../domain/commission/evaluate.js';
import { explainEvent, type Explanation } from '../domain/commission/explain.js';
import { COMMISSION_EVENT_TYPES, type CommissionEvent } from '../domain/commission/facts.js';
import { FX_LOOKBACK_DAYS_DEFAULT } from '../domain/fx.js';
import type { RevshareAccount } from '../domain/commission/revshare.js';
import { lockRevshareAccounts, parkable, revenueDifference, volumeDayOf } from './accounts.js';
import { pairsAwaited, ratesFor } from './fx.js';
import { finish } from './approvals.js';
import { booked } from './notify.js';
import { recordParked } from './parked-event.js';
import {
  emptyDispatch,
  emptyResult,
  limitStep,
  SETTLE_BUDGET_MS,
  type CustomerRef,
  type SettleOptions,
  type SettlementResult,
  type UnsettledRow,
} from './step.js';

export { holdsOf, type Hold } from '../db/commission-holds.js';
export { approveDueTx, APPROVE_BATCH, decideTx, type Decision, type DecisionResult } from './approvals.js';
export { notificationData } from './notify.js';
export {
  PARKED_LISTED,
  SETTLE_BUDGET_MS,
  STEP_LIMITS,
  type Booked,
  type CustomerRef,
  type Dispatch,
  type Parked,
  type SettleOptions,
  type SettlementResult,
} from './step.js';

/**
 * Settlement: the commission engine's one way of changing money. Each function runs inside one
 * transaction and does everything a decision implies, or nothing: the ledger entries, the evaluator's
 * state, the RevShare account, the `commission.*` notification events with their deliveries, and the
 * cancellation of conversions a rejection or reversal overtakes. What must happen outside PostgreSQL
 * afterwards (starting the notifications' workflows, telling event workflows about cancelled deliveries)
 * is returned as a `Dispatch`; a step that books nothing rebuilds from the rows whatever an earlier try
 * left undispatched (see `finish`).
 *
 * Settling is idempotent by construction. It folds every recorded commission event of the customer not
 * yet settled (`events.settled_at`), in event-time order, so a replayed call finds nothing to do, a lost
 * signal is caught up by the next one, and a customer whose events arrived before their affiliate existed
 * is settled in full when it does.
 *
 * Each event is folded in a savepoint. One whose settlement fails deterministically (see `parkable`) is
 * rolled back alone and parked with its error; the others settle, and it waits for an operator to fix the
 * deal and re-settle it. An event that earns by itself but found no affiliate (see `REEVALUATED_TYPES`)
 * is settled and marked, and folded again once the customer has an affiliate.
 */

/** Folds the customer's unsettled commission events into the ledger, in event-time order. */
export async function settleCustomerTx(
  tx: Queryable,
  ref: CustomerRef,
  opts: SettleOptions = {},
): Promise<SettlementResult> {
  const { operatorId, customerId } = ref;
  const deadline = Date.now() + (opts.budgetMs ?? SETTLE_BUDGET_MS);
  await limitStep(tx);
  // The customer's state row, created on first use and locked for the rest of the transaction. Rows
  // written before the state was bounded carry every commission and event id: dropped here.
  let state = storedState(await lockCustomerState(tx, ref, initialState(customerId)));

  // Unsettled events, and those settled while the customer had no affiliate once they have one.
  const events = await unsettledEvents(tx, ref, COMMISSION_EVENT_TYPES);
  const result = emptyResult();
  if (!events.length) {
    await finish(tx, ref, result);
    return result;
  }

  state = await refreshStatuses(tx, ref, state);
  const customer = await customerAttribution(tx, ref);
  // The customer's affiliate is the one their registration bound; before it arrives, the event's own.
  const affiliateOf = (row: UnsettledRow): string | null =>
    (customer?.affiliateId as string | undefined) ??
    row.facts?.effectiveAttribution?.affiliateId ??
    row.payload.attribution?.affiliateId ??
    null;
  await lockRevshareAccounts(tx, operatorId, events, affiliateOf);
  const unattributed: string[] = [];
  // Why each event earned what it did; written with the settled mark (`markSettled`).
  const evaluations: Record<string, Explanation[]> = {};
  // The rate pairs an event waits for: it is folded again by later settlements until they are set.
  const fxMissing: Record<string, string[]> = {};
  const lookbackDays = opts.fxLookbackDays ?? FX_LOOKBACK_DAYS_DEFAULT;
  let newlySettled = 0;
  for (const row of events) {
    opts.signal?.throwIfAborted();
    if (result.settled.length && Date.now() > deadline) {
      result.more = true;
      break;
    }
    // Each event in its own savepoint: one that fails for good is parked, and the others still settle.
    const step: SettlementResult = {
      settled: [],
      booked: [],
      nextHold: null,
      pending: 0,
      parked: [],
      dispatch: emptyDispatch(),
    };
    await savepoints.begin(tx, 'settle_event');
    try {
      const settledEvent = await settleEvent(tx, ref, row, affiliateOf(row), state, step, lookbackDays);
      state = storedState(settledEvent.state);
      evaluations[row.event_id] = settledEvent.evaluation;
      if (settledEvent.fxMissing) fxMissing[row.event_id] = settledEvent.fxMissing;
      if (!settledEvent.attributed && REEVALUATED_TYPES.has(row.type)) unattributed.push(row.event_id);
      await savepoints.release(tx, 'settle_event');
    } catch (err) {
      const error = await parkable(tx, err);
      if (!error) throw err;
      const parkedAt = await parkEvent(tx, operatorId, row.event_id, error);
      result.parked.push({ eventId: row.event_id, error });
      const announced = await recordParked(tx, ref, {
        eventId: row.event_id,
        eventType: row.type,
        error,
        parkedAt,
      });
      if (announced) result.dispatch.notifications.push(announced);
      continue;
    }
    result.settled.push(row.event_id);
    if (!row.settled_at) newlySettled += 1;
    result.booked.push(...step.booked);
    result.dispatch.notifications.push(...step.dispatch.notifications);
    result.dispatch.cancellations.push(...step.dispatch.cancellations);
  }

  await markSettled(tx, operatorId, result.settled, unattributed, evaluations, fxMissing);
  await saveCustomerState(tx, ref, state, newlySettled);
  await finish(tx, ref, result);
  return result;
}

/**
 * Events that earn or move money by themselves, not through the customer's facts (which every later event
 * folds anyway): settled while the customer had no affiliate (its registration not yet applied, or its
 * affiliate not yet set up), they earned nothing, and are evaluated again once the customer has one.
 * Evaluating one again is safe: facts fold idempotently and every commission has its idempotency key.
 */
const REEVALUATED_TYPES: ReadonlySet<string> = new Set([
  'revenue.daily',
  'deposit.chargeback',
  'trade.closed',
  'trading.volume_daily',
  'challenge.purchased',
  'challenge.phase_passed',
  'funded_account.activated',
]);

/**
 * Folds one event: evaluates it under the affiliate's deal (with the operator's exchange rates), books its
 * intents, moves the account. Says whether the event had an affiliate to be paid under, explains what it
 * earned (explain.ts), and names the rate pairs it waits for, if any.
 */
async function settleEvent(
  tx: Queryable,
  ref: CustomerRef,
  row: UnsettledRow,
  affiliateId: string | null,
  before: CommissionState,
  result: SettlementResult,
  lookbackDays: number,
): Promise<{
  state: CommissionState;
  attributed: boolean;
  evaluation: Explanation[];
  fxMissing: string[] | null;
}> {
  const { operatorId } = ref;
  const affiliate = affiliateId ? await findAffiliate(tx, operatorId, affiliateId) : null;
  // A suspended affiliate accrues nothing (the ledger refuses it, below); compensations of what it earned
  // before still apply.
  const deal: Deal | null = affiliate?.deal ?? null;
  let event = {
    id: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at.toISOString(),
    data: row.payload.data,
  } as CommissionEvent;
  if (event.type === 'revenue.daily' && affiliate) event = await revenueDifference(tx, ref, event);

  let account: RevshareAccount | null = null;
  // Revenue accrues RevShare and a chargeback lowers the period's NGR: both move the affiliate's account.
  const movesAccount = event.type === 'revenue.daily' || event.type === 'deposit.chargeback';
  const revshare = movesAccount && deal && affiliateId ? revshareTermsOf(deal) : null;
  if (revshare && (event.type === 'revenue.daily' || event.type === 'deposit.chargeback')) {
    account = await revshareAccountForUpdate(tx, operatorId, affiliateId!, event.data.currency);
  }

  // A day of trading volume is one figure per account and day: only what it adds is paid.
  const volume = affiliate ? await volumeDayOf(tx, ref, deal, event) : null;
  const volumeDay = volume?.before ?? null;

  const given = await withOpenCommissions(tx, ref, before, event);
  const { needs, fx } = await ratesFor(tx, operatorId, { deal, state: given, event, lookbackDays });
  const out = evaluate({ deal, state: given, event, revshareAccount: account, fx, volumeDay });
  let state = out.state;
  const ledger: Record<string, string> = {};
  for (const intent of out.intents) {
    const outcome = await book(tx, ref, affiliateId, intent);
    if (intent.type === 'accrue')
      ledger[intent.idempotencyKey] =
        outcome.result.outcome === 'refused' ? outcome.result.refusal : outcome.result.outcome;
    if (outcome.result.outcome === 'refused' && intent.type === 'accrue') {
      // Earned while the affiliate was suspended: forfeited for good, so it is neither accrued when the
      // affiliate is reinstated nor undone later (the evaluator treats it as rejected). Any other refusal
      // (no such affiliate): forgotten, so a later event may earn it under a deal that exists by then.
      const key = intent.idempotencyKey;
      state =
        outcome.result.refusal === 'affiliate_suspended'
          ? withStatus(state, key, 'rejected')
          : { ...state, commissions: state.commissions.filter((c) => c.idempotencyKey !== key) };
    }
    if (outcome.result.outcome !== 'booked') continue;
    const entry = outcome.result.entry;
    const commissionId = entry.kind === 'accrual' ? entry.id : (entry.relatedEntry ?? entry.reversalOf)!;
    await booked(tx, ref, result, entry, commissionId);
  }
  if (
    revshare &&
    out.revshareAccount &&
    (event.type === 'revenue.daily' || event.type === 'deposit.chargeback')
  ) {
    await saveRevshareAccount(tx, operatorId, affiliateId!, event.data.currency, out.revshareAccount);
  }
  await volume?.save(out.volumeDay);
  const evaluation = explainEvent({
    affiliateId,
    deal,
    event,
    before: given,
    evaluation: out,
    ledger,
    fx,
    volumeDay,
  });
  const fxMissing = pairsAwaited(event.type, evaluation, needs, fx);
  return { state, attributed: affiliate !== null, evaluation, fxMissing };
}

/**
 * The kept commissions (the CPA) with their status as the ledger has it (approved by a timer or by hand),
 * each looked up by its key: nothing of the customer's other commissions is read.
 */
async function refreshStatuses(
  tx: Queryable,
  ref: CustomerRef,
  state: CommissionState,
): Promise<CommissionState> {
  if (!state.commissions.length) return state;
  const status = await statusesByKey(
    tx,
    ref.operatorId,
    state.commissions.map((c) => c.idempotencyKey),
  );
  return {
    ...state,
    commissions: state.commissions.map((c) => {
      const s = status.get(c.idempotencyKey);
      return s && s !== c.status ? { ...c, status: s } : c;
    }),
  };
}

/**
 * The state with the open commissions the event may compensate, from the ledger (`commissionsNeeded`):
 * the stored state keeps only the CPA. In booking order; the stored CPA (with its terms) in its place.
 */
async function withOpenCommissions(
  tx: Queryable,
  ref: CustomerRef,
  state: CommissionState,
  event: CommissionEvent,
): Promise<CommissionState> {
  const needed = commissionsNeeded(state.facts, event);
  if (!needed) return state;
  const open =
    'all' in needed
      ? await openCommissions(tx, ref, null)
      : await openCommissions(tx, ref, needed.keys, needed.prefixes);
  const kept = new Map(state.commissions.map((c) => [c.idempotencyKey, c]));
  const commissions: AccruedCommission[] = open.map((c) => {
    const own = kept.get(c.idempotencyKey);
    kept.delete(c.idempotencyKey);
    return own ? { ...own, status: c.status } : c;
  });
  return { ...state, commissions: [...commissions, ...kept.values()] };
}

async function book(
  tx: Queryable,
  ref: CustomerRef,
  affiliateId: string | null,
  intent: LedgerIntent,
): Promise<{ result: LedgerResult }> {
  if (intent.type === 'accrue') {
    if (!affiliateId) return { result: { outcome: 'refused', refusal: 'affiliate_not_found', entry: null } };
    return { result: await bookAccrual(tx, { ...intent, operatorId: ref.operatorId, affiliateId }) };
  }
  const target = await findEntryByKey(tx, ref.operatorId, intent.target.idempotencyKey);
  if (!target) return { result: { outcome: 'refused', refusal: 'not_found', entry: null } };
  const comp = { reason: intent.reason, at: intent.occurredAt, causeEventId: intent.causeEventId };
  // A review moves no money whatever the status; reject and reverse are decided again under the row lock,
  // in case a hold timer approved the commission since the evaluator last heard.
  return {
    result:
      intent.kind === 'review'
        ? await flagForReview(tx, ref.operatorId, target.id, comp)
        : await compensate(tx, ref.operatorId, target.id, comp),
  };
}
