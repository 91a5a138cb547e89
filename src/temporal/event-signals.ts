import type { Client } from '@temporalio/client';
import {
  cancelDeliverySignal,
  deliveriesQuery,
  deliveryAttemptFailedSignal,
  redriveDeliveriesSignal,
  retryDeliverySignal,
  type AttemptFailedInfo,
  type DeliveryView,
} from '../../workflows/definitions.js';
import type { ProcessEventInput } from '../../workflows/process-event.js';
import { WORKFLOW_TYPES } from './task-queues.js';

/**
 * Typed helpers over the event workflow's signals and query, for the REST API and for any other service
 * holding a Temporal client (docs/api-v1.md section 7). Names and argument shapes are part of the contract.
 */

/** Attempts a waiting delivery now. */
export async function retryDelivery(client: Client, workflowId: string, deliveryId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(retryDeliverySignal, { deliveryId });
}

/** Cancels a delivery that has not finished. */
export async function cancelDelivery(
  client: Client,
  workflowId: string,
  deliveryId: string,
  reason?: string,
): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(cancelDeliverySignal, { deliveryId, reason });
}

/** Tells the workflow a delivery started retrying, for its search attributes (sent by the delivery activity). */
export async function reportAttemptFailed(
  client: Client,
  workflowId: string,
  info: AttemptFailedInfo,
): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(deliveryAttemptFailedSignal, info);
}

/**
 * Delivers reopened (failed -> pending) deliveries again: signals the event's workflow, or starts a new
 * run of it under the same id when it has closed.
 */
export async function redriveDeliveries(
  client: Client,
  opts: { workflowId: string; taskQueue: string; input: ProcessEventInput },
  deliveryIds: string[],
): Promise<void> {
  await client.workflow.signalWithStart(WORKFLOW_TYPES.processEvent, {
    workflowId: opts.workflowId,
    taskQueue: opts.taskQueue,
    args: [opts.input],
    signal: redriveDeliveriesSignal,
    signalArgs: [{ deliveryIds }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `redrive: ${opts.input.type} ${opts.input.eventId} (customer ${opts.input.customerId})`,
  });
}

/** The deliveries as the running workflow sees them. */
export async function queryDeliveries(client: Client, workflowId: string): Promise<DeliveryView[]> {
  return client.workflow.getHandle(workflowId).query(deliveriesQuery);
}
