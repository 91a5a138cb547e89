/**
 * settleCustomer: the entity workflow of one customer's commissions, id `customer:<operatorId>:<customerId>`.
 *
 * Every commission-relevant event of the customer (registration, deposits, chargebacks, KYC, fraud,
 * revenue, trades, challenges) signals it (`customerEvent`, by signal-with-start from the event's workflow);
 * it settles them one settlement at a time, so a customer's events never race each other however they
 * arrive. A settlement is one local activity and one PostgreSQL transaction that folds every unsettled event
 * in event-time order, books what the deal says and records the `commission.*` notifications; signals
 * arriving meanwhile are settled together by the next one.
 *
 * Hold periods are one durable timer at a time, for the earliest pending commission: when it fires, every
 * commission whose hold has ended is approved. Decisions by hand arrive as updates (`approveCommission`,
 * `rejectCommission`) and take their turn with the settlements. With nothing pending and nothing to
 * settle the workflow completes; the next event starts it again (its state lives in PostgreSQL). A long
 * life continues as new, carrying only the timers.
 *
 * An event whose settlement fails deterministically is parked by the settlement (the others settle): the
 * details list the parked events and `CommissionStatus` is `parked` until `POST /v1/events/{id}/resettle`
 * brings them back (a `customerEvent` signal) and they settle.
 *
 * Cost per settled event: one signal (or start), one workflow task, one local activity; plus one timer per
 * distinct earliest hold end (kept while events arrive during the hold), one local activity per approval
 * round and per decision by hand.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { CustomerState, type CarriedState } from './customer-state.js';
import {
  approveCommissionUpdate,
  commissionHoldsQuery,
  customerEventSignal,
  rejectCommissionUpdate,
  type CommissionDecisionView,
} from './definitions.js';
import { HoldTimer } from './hold-timer.js';
import { holdTimerSummary } from './wait-summaries.js';

export { PARKED_STATUS, type ParkedView } from './customer-state.js';

/** A customer's workflow input: who, and on continue-as-new what the previous run carries over. */
export interface SettleCustomerInput extends CarriedState {
  operatorId: string;
  customerId: string;
}

export interface SettleCustomerResult {
  settlements: number;
  booked: number;
}

/** The settlement's local activities, named in the Web UI by what they do. */
function settlementStep(summary: string) {
  return proxyLocalActivities<Activities>({
    startToCloseTimeout: '30s',
    summary,
    // PostgreSQL or the Temporal frontend being away is a wait, never a loss: keep trying.
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
  });
}
const { settleCustomer: settle } = settlementStep('settle the unsettled events of the customer');
const { approveDueCommissions } = settlementStep('approve the commissions whose hold has ended');

/** The patch that keeps the hold timer across wake-ups (histories before it cancel and restart it). */
export const KEEP_HOLD_TIMER = 'keep-hold-timer';

/** History grows by ~10 events per settlement; continue as new well before Temporal's limits. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 4000;

export async function settleCustomer(input: SettleCustomerInput): Promise<SettleCustomerResult> {
  const ref = { operatorId: input.operatorId, customerId: input.customerId };
  const state = new CustomerState(input.customerId, input);

  setHandler(customerEventSignal, () => {
    state.unsettled = true;
  });
  setHandler(commissionHoldsQuery, () => (state.nextHold ? [state.nextHold] : []));

  async function decide(
    action: 'approve' | 'reject',
    commissionId: string,
    reason?: string,
  ): Promise<CommissionDecisionView> {
    return state.exclusive(async () => {
      const { decideCommission } = settlementStep(`${action} commission ${commissionId} by hand`);
      const r = await decideCommission({
        ...ref,
        commissionId,
        action,
        reason,
        at: new Date().toISOString(),
      });
      state.absorb(r);
      return { commissionId, outcome: r.outcome, refusal: r.refusal };
    });
  }

  const validId = (arg: { commissionId?: unknown } | undefined) => {
    if (typeof arg?.commissionId !== 'string' || !arg.commissionId.startsWith('com_'))
      throw new Error('commissionId must be a commission id (com_...)');
  };
  setHandler(approveCommissionUpdate, ({ commissionId }) => decide('approve', commissionId), {
    validator: validId,
  });
  setHandler(rejectCommissionUpdate, ({ commissionId, reason }) => decide('reject', commissionId, reason), {
    validator: (arg) => {
      validId(arg);
      if (typeof arg?.reason !== 'string' || !arg.reason.trim())
        throw new Error('a rejection needs a reason');
    },
  });

  const holdTimer = new HoldTimer();
  state.publish();
  for (;;) {
    if (!state.unsettled) {
      const first = state.nextHold;
      if (!first) {
        // Nothing pending: finish once in-flight decisions are done, unless they or a signal gave us work.
        await condition(allHandlersFinished);
        if (!state.unsettled && !state.nextHold && !state.busy) break;
        continue;
      }
      const wait = Date.parse(first.holdUntil) - Date.now();
      if (wait > 0) {
        const summary = holdTimerSummary(first, input.customerId);
        if (patched(KEEP_HOLD_TIMER)) {
          // The one hold timer, kept while the earliest hold stays the same: an event settled during the
          // hold does not cost a cancelled timer and a new one.
          const timer = holdTimer.for(first.holdUntil, wait, summary);
          await condition(() => state.unsettled || timer.fired || state.nextHold?.holdUntil !== timer.until);
        } else {
          // Histories recorded before the patch: the timer ends with every wake-up and starts again.
          await condition(() => state.unsettled || state.nextHold !== first, wait, { summary });
        }
      }
    }
    await state.exclusive(async () => {
      if (state.unsettled) {
        state.unsettled = false;
        state.settlements += 1;
        state.absorb(await settle(ref));
      } else if (state.nextHold && Date.parse(state.nextHold.holdUntil) <= Date.now()) {
        state.absorb(await approveDueCommissions({ ...ref, at: new Date().toISOString() }));
      }
    });
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > CONTINUE_AS_NEW_AFTER_EVENTS) {
      await condition(() => allHandlersFinished() && !state.busy);
      await continueAsNew<typeof settleCustomer>({ ...ref, ...state.carried() });
    }
  }
  return { settlements: state.settlements, booked: state.booked };
}
