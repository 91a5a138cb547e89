import { commissionEntries, settlementStepDuration } from '../src/metrics.js';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import {
  approveDueTx,
  decideTx,
  settleCustomerTx,
  type CustomerRef,
  type Decision,
  type DecisionResult,
  type Dispatch,
  type SettlementResult,
} from '../src/commission/settle.js';
import { clearCustomerWake } from '../src/db/event-application.js';
import { markWorkflowStarted } from '../src/db/events.js';
import { withTransaction, type Pool, type PoolClient } from '../src/db/pool.js';
import type { EmittedEventType } from '../src/domain/event-types.js';
import { faultPoint } from '../src/fault.js';
import type { ActivityPorts } from './ports.js';

export interface CommissionDeps {
  pool: Pool;
  /** Days before an amount's date an exchange rate may come from (`FX_RATE_LOOKBACK_DAYS`). */
  fxLookbackDays?: number | undefined;
  ports?: ActivityPorts | undefined;
  logger?: Logger | undefined;
}

/** What the customer workflow keeps of a settlement: its timers and what happened, no payloads. */
export type CommissionStep = Omit<SettlementResult, 'dispatch'>;
export type CommissionDecision = Omit<DecisionResult, 'dispatch'>;

/**
 * The commission engine's activities, each one PostgreSQL transaction followed by its dispatch. A retry
 * after the commit (a crash between the two) finds the transaction's work done and dispatches what is
 * still undispatched, rebuilt from the rows.
 */
export function createCommissionActivities(deps: CommissionDeps) {
  async function run<T extends SettlementResult>(
    ref: CustomerRef,
    tx: (db: PoolClient) => Promise<T>,
    step: 'settle' | 'approve' | 'decide' = 'settle',
  ): Promise<Omit<T, 'dispatch'>> {
    const timer = settlementStepDuration.startTimer({ step });
    const result = await withTransaction(deps.pool, tx);
    // Committed: count what it booked, and keep the currency (for the metrics only) out of the result.
    result.booked = result.booked.map(({ currency, ...entry }) => {
      commissionEntries.inc({ kind: entry.kind, currency: currency ?? 'unknown' });
      return entry;
    });
    if (result.booked.some((b) => b.status === 'rejected' || b.status === 'reversed'))
      await faultPoint('commission-compensation-committed');
    // When nothing was booked now, the dispatch holds what an earlier try committed and did not dispatch.
    await dispatchAll(deps, ref, result.dispatch);
    const { dispatch: _, ...rest } = result;
    timer();
    return rest;
  }
  return {
    /** Folds the customer's unsettled commission events into the ledger, in event-time order. */
    async settleCustomer(ref: CustomerRef): Promise<CommissionStep> {
      // Before the step's reads, in a statement of its own: an event applied from here on signals again.
      await clearCustomerWake(deps.pool, ref.operatorId, ref.customerId);
      return run(ref, (tx) =>
        settleCustomerTx(tx, ref, { signal: cancellation(), fxLookbackDays: deps.fxLookbackDays }),
      );
    },
    /** Approves the pending commissions whose hold has ended by `at`. */
    async approveDueCommissions(input: CustomerRef & { at: string }): Promise<CommissionStep> {
      return run(input, (tx) => approveDueTx(tx, input, { signal: cancellation() }), 'approve');
    },
    /** Approves or rejects one commission by hand. */
    async decideCommission(input: CustomerRef & Decision): Promise<CommissionDecision> {
      const { operatorId, customerId, ...decision } = input;
      const ref = { operatorId, customerId };
      return run(ref, (tx) => decideTx(tx, ref, decision), 'decide');
    },
  };
}

/** The attempt's cancellation (its timeout, for a local activity): the step stops before its next event. */
function cancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // called outside an activity (tests)
  }
}

async function dispatchAll(deps: CommissionDeps, ref: CustomerRef, dispatch: Dispatch): Promise<void> {
  const { ports } = deps;
  if (!ports) return; // the reconciler starts the notifications' workflows
  for (const c of dispatch.cancellations) {
    // A closed event workflow (false) has nothing left to cancel: the row is cancelled already.
    await ports.cancelDelivery(c.workflowId, c.deliveryId, c.reason);
  }
  for (const n of dispatch.notifications) {
    await ports.startEventWorkflow(
      {
        workflowId: n.workflowId,
        operatorId: ref.operatorId,
        eventId: n.eventId,
        type: n.type as EmittedEventType,
        customerId: n.customerId,
      },
      { timeoutMs: 10_000 },
    );
    await markWorkflowStarted(deps.pool, ref.operatorId, n.eventId, true);
  }
}
