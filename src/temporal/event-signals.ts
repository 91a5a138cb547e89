import type { Client } from '@temporalio/client';
import {
  cancelDeliverySignal,
  deliveriesQuery,
  deliveryAttemptFailedSignal,
  redriveDeliveriesSignal,
  replayDeliveriesSignal,
  retryDeliverySignal,
  wakeDeliverySignal,
  type AttemptFailedInfo,
  type ReplayedDeliveries,
  type DeliveryView,
} from '../../workflows/definitions.js';
import type { ProcessEventInput } from '../../workflows/process-event.js';
import { eventSearchAttributes } from './start-event.js';
import { WORKFLOW_TYPES } from './task-queues.js';

/**
 * Typed helpers over the event workflow's signals and query, for the REST API and for any other service
 * holding a Temporal client (docs/api-v1.md section 7). Names and argument shapes are part of the contract.
 */

/** Attempts a waiting delivery now. */
export async function retryDelivery(client: Client, workflowId: string, deliveryId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(retryDeliverySignal, { deliveryId });
}

/** Wakes a delivery waiting for its endpoint's breaker (it closed, or the delivery probes next). */
export async function wakeDelivery(client: Client, workflowId: string, deliveryId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(wakeDeliverySignal, { deliveryId });
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
 * run of it under the same id when it has closed. The new run starts with every search attribute of the
 * event (`affiliateId`: the attribution it was applied with), so the README's queries find it. Answers
 * the run signalled; pass it to forgetSupersededRuns.
 */
export async function redriveDeliveries(
  client: Client,
  opts: {
    workflowId: string;
    taskQueue: string;
    input: ProcessEventInput;
    affiliateId?: string | null | undefined;
  },
  deliveryIds: string[],
): Promise<{ runId: string }> {
  const handle = await client.workflow.signalWithStart(WORKFLOW_TYPES.processEvent, {
    workflowId: opts.workflowId,
    taskQueue: opts.taskQueue,
    args: [opts.input],
    signal: redriveDeliveriesSignal,
    signalArgs: [{ deliveryIds }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `redrive: ${opts.input.type} ${opts.input.eventId} (customer ${opts.input.customerId})`,
    typedSearchAttributes: eventSearchAttributes(opts.input, opts.affiliateId),
  });
  return { runId: handle.signaledRunId };
}

/**
 * Hands an endpoint replay's deliveries (pending again, or new) to their event's workflow: a signal to the
 * running one, or a new run under the same id when it has closed, which loads them from PostgreSQL (the
 * signal is then a no-op). Answers the run signalled, as redriveDeliveries does.
 */
export async function replayDeliveries(
  client: Client,
  opts: {
    workflowId: string;
    taskQueue: string;
    input: ProcessEventInput;
    affiliateId?: string | null | undefined;
  },
  plans: ReplayedDeliveries['deliveries'],
): Promise<{ runId: string }> {
  const handle = await client.workflow.signalWithStart(WORKFLOW_TYPES.processEvent, {
    workflowId: opts.workflowId,
    taskQueue: opts.taskQueue,
    args: [opts.input],
    signal: replayDeliveriesSignal,
    signalArgs: [{ deliveries: plans }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `replay: ${opts.input.type} ${opts.input.eventId} (customer ${opts.input.customerId})`,
    typedSearchAttributes: eventSearchAttributes(opts.input, opts.affiliateId),
  });
  return { runId: handle.signaledRunId };
}

/**
 * Deletes from Temporal the closed runs of an event's workflow that a redrive has superseded and that
 * still say a delivery failed. A closed run's search attributes can never change, so each would go on
 * answering `DeliveryStatus = 'failed'` after the redriven delivery succeeded; the run signalled now
 * (`keepRunId`) says where the event stands. Their attempts stay in PostgreSQL (`GET /v1/deliveries/{id}`
 * lists every attempt of every run). Answers how many were deleted.
 */
export async function forgetSupersededRuns(
  client: Client,
  workflowId: string,
  keepRunId: string,
): Promise<number> {
  // Workflow ids are `event:<operator>:<event id>`, whose characters exclude quotes: nothing to escape.
  if (workflowId.includes("'")) return 0;
  const query = `WorkflowId = '${workflowId}' AND ExecutionStatus != 'Running' AND DeliveryStatus = 'failed'`;
  let deleted = 0;
  for await (const run of client.workflow.list({ query })) {
    if (run.runId === keepRunId) continue;
    await client.workflowService.deleteWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId, runId: run.runId },
    });
    deleted++;
  }
  return deleted;
}

/** The deliveries as the running workflow sees them. */
export async function queryDeliveries(client: Client, workflowId: string): Promise<DeliveryView[]> {
  return client.workflow.getHandle(workflowId).query(deliveriesQuery);
}
