import { finishDelivery as finishDeliveryRow } from '../src/db/deliveries.js';
import { findAffiliate } from '../src/db/ledger.js';
import { isCommissionEventType } from '../src/domain/commission/facts.js';
import { affiliateToWake, applyEventTx, type AppliedEvent, type EventRef } from './apply-event.js';
import { createCommissionActivities } from './commissions.js';
import { deliver } from './delivery/deliver.js';
import { recordDeliveryOutcome } from './delivery/record-outcome.js';
import { failReplay, replayFeedPage, type ReplayPageInput, type ReplayPageResult } from './replay.js';
import { deleteExpiredRows, type CleanUpInput, type CleanUpResult } from './retention.js';
import type {
  DeliverDeps,
  DeliverInput,
  DeliverOutcome,
  DeliverResult,
  RetryingOutcome,
  UnrecordedOutcome,
} from './delivery/types.js';

export type { AppliedBeforeStart, AppliedEvent, DeliveryPlan, EventRef } from './apply-event.js';
export type { CommissionDecision, CommissionStep } from './commissions.js';
export type { CleanUpInput, CleanUpResult } from './retention.js';
export type { ReplayPageInput, ReplayPageResult } from './replay.js';
export type {
  AttemptFailure,
  DeliverInput,
  DeliverOutcome,
  DeliverResult,
  RetryingOutcome,
  UnrecordedOutcome,
} from './delivery/types.js';
export type { EventFacts } from '../src/db/events.js';
export type { ActivityPorts, CustomerTarget, EventStart, InternalEvent, ReplayTarget } from './ports.js';

/** The customer whose settlement workflow an event wakes (wakeCustomer). */
export interface CustomerWake {
  operatorId: string;
  eventId: string;
  customerId: string;
  affiliateId: string;
}

/**
 * Everything the activities need, injected so tests can hand in their own: the delivery dependencies, the
 * Temporal client, and the ports through which they emit events, start workflows and wake customers.
 */
export type ActivityDeps = DeliverDeps & {
  /** Days before an amount's date an exchange rate may come from (`FX_RATE_LOOKBACK_DAYS`). */
  fxLookbackDays?: number | undefined;
};

/** Builds the activities with their dependencies injected, so tests can hand in their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Derives what an event means (attribution, FTD) and creates its deliveries, in one transaction. */
    async applyEvent(ref: EventRef & { type?: string; customerId?: string }): Promise<AppliedEvent> {
      const { type, customerId, ...eventRef } = ref;
      const applied = await applyEventTx(deps.pool, eventRef);
      if (type && customerId && isCommissionEventType(type))
        await wakeCustomer(eventRef, type, customerId, applied);
      return applied;
    },
    /** Wakes the customer's settlement workflow for an event the API applied before starting its workflow. */
    async wakeCustomer(input: CustomerWake): Promise<void> {
      await deps.ports?.signalCustomerEvent(
        { operatorId: input.operatorId, customerId: input.customerId, affiliateId: input.affiliateId },
        input.eventId,
      );
    },
    /**
     * One attempt of a delivery, webhook or postback (the registered name predates postbacks; histories
     * record it). Temporal retries it on the delivery's policy.
     */
    async deliverWebhook(input: DeliverInput): Promise<DeliverResult> {
      return deliver(deps, input);
    },
    /** Logs an attempt the delivery activity sent but could not log; never sends. */
    async recordDeliveryOutcome(input: UnrecordedOutcome): Promise<DeliverOutcome | RetryingOutcome> {
      return recordDeliveryOutcome(deps, input);
    },
    /** Ends a delivery without an attempt: cancelled by request, or given up by Temporal. */
    async finishDelivery(input: { deliveryId: string; status: 'cancelled' | 'failed'; reason: string }) {
      await finishDeliveryRow(deps.pool, input.deliveryId, input.status, input.reason.slice(0, 1000));
    },
    /** Deletes the rows past their retention period, in batches (the retention Schedule's one activity). */
    async deleteExpiredRows(input: CleanUpInput): Promise<CleanUpResult> {
      return deleteExpiredRows(deps.pool, input);
    },
    /** One page of an endpoint's replay from the feed: judged, queued, handed to the event workflows. */
    async replayFeedPage(input: ReplayPageInput): Promise<ReplayPageResult> {
      return replayFeedPage(deps, input);
    },
    /** Ends a replay that cannot go on, with the reason. */
    async failReplay(input: { replayId: string; reason: string }): Promise<void> {
      await failReplay(deps, input);
    },
    ...createCommissionActivities(deps),
  };

  /**
   * Wakes the customer's entity workflow for a commission event, when money can be at stake: the event is
   * attributed to an affiliate the operator has set up. Events of customers with no such affiliate are
   * not settled now; the customer's next event that is folds them in too (the settlement takes every
   * unsettled event of the customer, in event-time order).
   */
  async function wakeCustomer(ref: EventRef, type: string, customerId: string, applied: AppliedEvent) {
    const affiliateId = applied.facts.effectiveAttribution?.affiliateId;
    if (typeof affiliateId !== 'string' || !deps.ports) return;
    // applyEvent answered it in its transaction; a replay (event applied before) asks again.
    let known = applied.affiliateKnown;
    if (known === undefined) {
      known = (await findAffiliate(deps.pool, ref.operatorId, affiliateId)) !== null;
    }
    const wake = affiliateToWake(type, applied, known);
    if (wake)
      await deps.ports.signalCustomerEvent(
        { operatorId: ref.operatorId, customerId, affiliateId: wake },
        ref.eventId,
      );
  }
}

export type Activities = ReturnType<typeof createActivities>;
