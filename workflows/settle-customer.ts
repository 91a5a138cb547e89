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
  CancellationScope,
  condition,
  continueAsNew,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CommissionStep } from '../activities/commissions.js';
import { SA } from '../src/domain/search-attributes.js';
import {
  approveCommissionUpdate,
  commissionHoldsQuery,
  customerEventSignal,
  rejectCommissionUpdate,
  type CommissionDecisionView,
  type HoldView,
} from './definitions.js';

export interface SettleCustomerInput {
  operatorId: string;
  customerId: string;
  /** Carried over continue-as-new by runs before `nextHold`: the pending commissions' hold ends. */
  holds?: HoldView[];
  /** Carried over continue-as-new: the earliest pending commission's hold, and how many are pending. */
  nextHold?: HoldView | null;
  pending?: number;
  /** Carried over continue-as-new: events signalled and not yet settled. */
  unsettled?: boolean;
  /** Carried over continue-as-new: events parked and not re-settled since. */
  parked?: ParkedView[];
}

/** An event a settlement parked (src/commission/settle.ts): shown in the details until re-settled. */
export interface ParkedView {
  eventId: string;
  error: string;
}

/** The patch that publishes `CommissionStatus = 'parked'` while an event of the customer is parked. */
export const PARKED_STATUS = 'commission-parked-status';

export interface SettleCustomerResult {
  settlements: number;
  booked: number;
}

const {
  settleCustomer: settle,
  approveDueCommissions,
  decideCommission,
} = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  // PostgreSQL or the Temporal frontend being away is a wait, never a loss: keep trying.
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** The patch that keeps the hold timer across wake-ups (histories before it cancel and restart it). */
export const KEEP_HOLD_TIMER = 'keep-hold-timer';

/** History grows by ~10 events per settlement; continue as new well before Temporal's limits. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 4000;

export async function settleCustomer(input: SettleCustomerInput): Promise<SettleCustomerResult> {
  const ref = { operatorId: input.operatorId, customerId: input.customerId };
  // The earliest hold and a count, never the list: a trader's pending commissions would outgrow a payload.
  let nextHold: HoldView | null = input.nextHold !== undefined ? input.nextHold : (input.holds?.[0] ?? null);
  let pending = input.pending ?? input.holds?.length ?? 0;
  let parked: ParkedView[] = input.parked ?? [];
  // A fresh start settles once: that is why it was started (or the signal that came with it).
  let unsettled = input.unsettled ?? true;
  let busy = false;
  let lastStatus: string | null = null;
  let published: string | null = null;
  let settlements = 0;
  let booked = 0;

  setHandler(customerEventSignal, () => {
    unsettled = true;
  });
  setHandler(commissionHoldsQuery, () => (nextHold ? [nextHold] : []));

  /** Runs one step at a time: settlements, approvals and decisions never overlap. */
  async function exclusive<T>(step: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await step();
    } finally {
      busy = false;
    }
  }

  function absorb(step: CommissionStep & { holds?: HoldView[] }) {
    // Results recorded before `nextHold` carry the whole list.
    nextHold = step.nextHold !== undefined ? step.nextHold : (step.holds?.[0] ?? null);
    pending = step.pending ?? step.holds?.length ?? 0;
    // The customer's parked events as they stand (results recorded before parking existed have none).
    parked = step.parked ?? [];
    // A step that spent its time budget left events unsettled: settle again (absent in older results).
    if (step.more) unsettled = true;
    booked += step.booked.length;
    const last = step.booked[step.booked.length - 1];
    if (last) lastStatus = last.status;
    publish();
  }

  async function decide(
    action: 'approve' | 'reject',
    commissionId: string,
    reason?: string,
  ): Promise<CommissionDecisionView> {
    return exclusive(async () => {
      const r = await decideCommission({
        ...ref,
        commissionId,
        action,
        reason,
        at: new Date().toISOString(),
      });
      absorb(r);
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

  /** The running hold timer: started for the earliest hold end, cancelled only when that end changes. */
  let timer: { until: string; fired: boolean; scope: CancellationScope } | null = null;
  function holdTimer(until: string, wait: number) {
    if (timer?.until === until) return timer;
    timer?.scope.cancel();
    const next = { until, fired: false, scope: new CancellationScope() };
    next.scope
      .run(() => sleep(wait))
      .then(
        () => (next.fired = true),
        () => undefined, // cancelled: a different hold end came first
      );
    timer = next;
    return next;
  }

  publish();
  for (;;) {
    if (!unsettled) {
      const first = nextHold;
      if (!first) {
        // Nothing pending: finish once in-flight decisions are done, unless they or a signal gave us work.
        await condition(allHandlersFinished);
        if (!unsettled && !nextHold && !busy) break;
        continue;
      }
      const wait = Date.parse(first.holdUntil) - Date.now();
      if (wait > 0) {
        if (patched(KEEP_HOLD_TIMER)) {
          // The one hold timer, kept while the earliest hold stays the same: an event settled during the
          // hold does not cost a cancelled timer and a new one.
          const timer = holdTimer(first.holdUntil, wait);
          await condition(() => unsettled || timer.fired || nextHold?.holdUntil !== timer.until);
        } else {
          // Histories recorded before the patch: the timer ends with every wake-up and starts again.
          await condition(() => unsettled || nextHold !== first, wait);
        }
      }
    }
    await exclusive(async () => {
      if (unsettled) {
        unsettled = false;
        settlements += 1;
        absorb(await settle(ref));
      } else if (nextHold && Date.parse(nextHold.holdUntil) <= Date.now()) {
        absorb(await approveDueCommissions({ ...ref, at: new Date().toISOString() }));
      }
    });
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > CONTINUE_AS_NEW_AFTER_EVENTS) {
      await condition(() => allHandlersFinished() && !busy);
      await continueAsNew<typeof settleCustomer>({
        ...ref,
        nextHold,
        pending,
        unsettled,
        ...(parked.length ? { parked } : {}),
      });
    }
  }
  return { settlements, booked };

  /**
   * The `CommissionStatus` search attribute (`parked` while an event waits for an operator, else `pending`
   * while any is held) and the current details. Histories from before parking never have a parked event,
   * so they reach the patch never and replay as they were.
   */
  function publish() {
    const status = parked.length && patched(PARKED_STATUS) ? 'parked' : nextHold ? 'pending' : lastStatus;
    if (status && status !== published) {
      published = status;
      upsertSearchAttributes([{ key: SA.CommissionStatus, value: status }]);
    }
    setCurrentDetails(
      [
        ...(parked.length
          ? [
              `**Events parked** (up to 20 listed): their settlement fails for good until fixed; fix the deal or`,
              'the data, then `POST /v1/events/{id}/resettle`.',
              ...parked.map((p) => `- \`${p.eventId}\`: ${p.error}`),
              '',
            ]
          : []),
        `Commissions of customer \`${input.customerId}\`: ${pending} pending.`,
        ...(nextHold
          ? [`The earliest, \`${nextHold.commissionId}\`, is held until ${nextHold.holdUntil}.`]
          : []),
      ].join('\n'),
    );
  }
}
