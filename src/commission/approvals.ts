import { dueHolds } from '../db/commission-holds.js';
import { approve, getCommission, reject, type Commission, type LedgerResult } from '../db/ledger.js';
import type { Queryable } from '../db/pool.js';
import { deliveriesReplacedBy, lockCustomerState, stepStanding } from '../db/settlement.js';
import { initialState } from '../domain/commission/evaluate.js';
import { booked } from './notify.js';
import {
  emptyResult,
  limitStep,
  PARKED_LISTED,
  SETTLE_BUDGET_MS,
  type CustomerRef,
  type SettleOptions,
  type SettlementResult,
} from './step.js';

/** Steps besides settling: approvals when holds end, decisions by hand, and how every step ends. */

/** Approvals booked by one step at most. */
export const APPROVE_BATCH = 500;

/** Approves the customer's pending commissions whose hold has ended by `at` (the workflow's clock). */

export async function approveDueTx(
  tx: Queryable,
  ref: CustomerRef & { at: string },
  opts: SettleOptions = {},
): Promise<SettlementResult> {
  const result = emptyResult();
  const deadline = Date.now() + (opts.budgetMs ?? SETTLE_BUDGET_MS);
  await limitStep(tx);
  await lockCustomer(tx, ref);
  // At most APPROVE_BATCH a step: more due ones leave the earliest hold due, and the workflow goes again.
  for (const hold of await dueHolds(tx, ref, ref.at, APPROVE_BATCH)) {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) break;
    const r = await approve(tx, ref.operatorId, hold.commissionId, { at: ref.at });
    if (r.outcome !== 'booked') continue;
    await booked(tx, ref, result, r.entry, hold.commissionId);
  }
  await finish(tx, ref, result);
  return result;
}

export interface Decision {
  commissionId: string;
  action: 'approve' | 'reject';
  /** Required to reject; shown to the affiliate. */
  reason?: string | undefined;
  /** When the decision is made: the workflow's clock. */
  at: string;
}

export interface DecisionResult extends SettlementResult {
  outcome: LedgerResult['outcome'];
  refusal: string | null;
  commission: Commission | null;
}

/** A decision by hand (`POST /v1/commissions/{id}/approve|reject`), serialised with the customer's events. */
export async function decideTx(tx: Queryable, ref: CustomerRef, d: Decision): Promise<DecisionResult> {
  await limitStep(tx);
  await lockCustomer(tx, ref);
  const result = emptyResult();
  const r =
    d.action === 'approve'
      ? await approve(tx, ref.operatorId, d.commissionId, { at: d.at, manual: true })
      : await reject(tx, ref.operatorId, d.commissionId, {
          reason: d.reason ?? 'rejected by the operator',
          at: d.at,
          causeEventId: null,
        });
  if (r.outcome === 'booked') {
    await booked(tx, ref, result, r.entry, d.commissionId);
  }
  await finish(tx, ref, result);
  return {
    ...result,
    outcome: r.outcome,
    refusal: r.outcome === 'refused' ? r.refusal : null,
    commission: await getCommission(tx, ref.operatorId, d.commissionId),
  };
}

/**
 * Ends a step: the customer's earliest hold and pending count as they now stand, its parked events, and, when the step booked nothing, whatever an
 * earlier try of it committed but did not dispatch (a crash between the commit and the dispatch), rebuilt
 * from the rows. One statement for both; the deliveries to cancel are read only when there is something.
 */
export async function finish(tx: Queryable, ref: CustomerRef, result: SettlementResult): Promise<void> {
  const lookForUndispatched = result.booked.length === 0;
  const standing = await stepStanding(tx, ref, lookForUndispatched, PARKED_LISTED);
  result.nextHold = standing.nextHold;
  result.pending = standing.pending;
  // As they stand, not what this step parked: a step retried after its commit (its first result lost
  // with a failed workflow task) still tells the workflow.
  result.parked = standing.parked;
  if (!lookForUndispatched || !standing.undispatched.length) return;
  for (const n of standing.undispatched)
    result.dispatch.notifications.push({ ...n, customerId: ref.customerId });
  const cancelled = await deliveriesReplacedBy(
    tx,
    ref.operatorId,
    standing.undispatched.map((n) => n.eventId),
  );
  for (const c of cancelled)
    result.dispatch.cancellations.push({ workflowId: c.workflow_id, deliveryId: c.id, reason: c.last_error });
}

/** Locks the customer's state row (created on first use): steps of one customer serialise on it. */
async function lockCustomer(tx: Queryable, ref: CustomerRef): Promise<void> {
  await lockCustomerState(tx, ref, initialState(ref.customerId));
}
