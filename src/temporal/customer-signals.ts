import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  approveCommissionUpdate,
  commissionHoldsQuery,
  customerEventSignal,
  rejectCommissionUpdate,
  type CommissionDecisionView,
  type HoldView,
} from '../../workflows/definitions.js';
import type { SettleCustomerInput } from '../../workflows/settle-customer.js';
import { customerWorkflowId } from '../domain/ids.js';
import { SA } from '../domain/search-attributes.js';
import { WORKFLOW_TYPES } from './task-queues.js';

/**
 * Typed helpers over the customer workflow's signal, updates and query, for the REST API, the event
 * workflow's activity and any other service holding a Temporal client (docs/api-v1.md section 7). Each starts
 * the customer's workflow if it is not running (its state lives in PostgreSQL), so none can be lost on a
 * workflow that has just completed.
 */

export interface CustomerTarget {
  operatorId: string;
  customerId: string;
  taskQueue: string;
  /** Shown in the Web UI and searchable (`AffiliateId = '...'`), when known. */
  affiliateId?: string | null | undefined;
}

function startOptions(t: CustomerTarget) {
  const input: SettleCustomerInput = { operatorId: t.operatorId, customerId: t.customerId };
  return {
    workflowId: customerWorkflowId(t.operatorId, t.customerId),
    taskQueue: t.taskQueue,
    args: [input] as [SettleCustomerInput],
    staticSummary: `commissions of customer ${t.customerId} · ${t.operatorId}`,
    typedSearchAttributes: [
      { key: SA.OperatorId, value: t.operatorId },
      { key: SA.CustomerId, value: t.customerId },
      ...(t.affiliateId ? [{ key: SA.AffiliateId, value: t.affiliateId }] : []),
    ],
  };
}

/** Tells the customer's workflow that a recorded commission event waits to be settled. */
export async function signalCustomerEvent(client: Client, t: CustomerTarget, eventId: string): Promise<void> {
  await client.workflow.signalWithStart(WORKFLOW_TYPES.settleCustomer, {
    ...startOptions(t),
    signal: customerEventSignal,
    signalArgs: [{ eventId }],
  });
}

/** Approves a pending commission by hand; resolves with what the ledger did. */
export async function approveCommission(
  client: Client,
  t: CustomerTarget,
  commissionId: string,
): Promise<CommissionDecisionView> {
  return client.workflow.executeUpdateWithStart(approveCommissionUpdate, {
    args: [{ commissionId }],
    startWorkflowOperation: new WithStartWorkflowOperation(WORKFLOW_TYPES.settleCustomer, {
      ...startOptions(t),
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}

/** Rejects a pending commission by hand, with the reason the affiliate will see. */
export async function rejectCommission(
  client: Client,
  t: CustomerTarget,
  commissionId: string,
  reason: string,
): Promise<CommissionDecisionView> {
  return client.workflow.executeUpdateWithStart(rejectCommissionUpdate, {
    args: [{ commissionId, reason }],
    startWorkflowOperation: new WithStartWorkflowOperation(WORKFLOW_TYPES.settleCustomer, {
      ...startOptions(t),
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}

/** The pending commissions' hold ends, as the running customer workflow keeps them. */
export async function queryHolds(
  client: Client,
  operatorId: string,
  customerId: string,
): Promise<HoldView[]> {
  return client.workflow.getHandle(customerWorkflowId(operatorId, customerId)).query(commissionHoldsQuery);
}
