import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { EVENT_WORKFLOW_LEVEL } from '../../workflows/definitions.js';
import type { ProcessEventInput } from '../../workflows/index.js';
import type { EventType } from '../domain/event-types.js';
import { eventWorkflowId } from '../domain/ids.js';
import { SA } from '../domain/search-attributes.js';
import { WORKFLOW_TYPES } from './task-queues.js';
import { boundedWait } from './timeout.js';

export interface StartEventOptions {
  taskQueue: string;
  /** Start on a worker in this process, skipping a server round trip (needs a shared NativeConnection). */
  eager: boolean;
  /** How long to wait for the server before giving up (the caller answers 503). */
  timeoutMs: number;
  /**
   * The history length at which an event's workflow continues as new (the workflow's own default when
   * absent). Tests set a low one to see the hand-off.
   */
  historyLimit?: number | undefined;
}

/**
 * The search attributes every run of an event's workflow starts with (README, "Finding an event's workflow"):
 * the event's own ids, and its affiliate when known. Its deliveries' attributes are the workflow's to set.
 */
export function eventSearchAttributes(
  event: Pick<ProcessEventInput, 'operatorId' | 'type' | 'eventId' | 'customerId'>,
  affiliateId: string | null | undefined,
): SearchAttributePair[] {
  return [
    { key: SA.OperatorId, value: event.operatorId },
    { key: SA.EventType, value: event.type },
    { key: SA.EventId, value: event.eventId },
    ...(event.customerId ? [{ key: SA.CustomerId, value: event.customerId }] : []),
    ...(affiliateId ? [{ key: SA.AffiliateId, value: affiliateId }] : []),
  ];
}

/**
 * Starts an event's workflow under its business-key id, idempotently: a running workflow with that id is
 * reused, and a closed one is never started again. Resolves once the server has the workflow.
 */
export async function startEventWorkflow(
  client: Client,
  input: ProcessEventInput & { workflowId: string; affiliateId?: string | undefined },
  opts: StartEventOptions,
): Promise<void> {
  const { workflowId, affiliateId, ...args } = input;
  try {
    const start = client.withDeadline(Date.now() + opts.timeoutMs, () =>
      client.workflow.start(WORKFLOW_TYPES.processEvent, {
        workflowId,
        taskQueue: opts.taskQueue,
        args: [
          {
            ...args,
            level: EVENT_WORKFLOW_LEVEL,
            ...(opts.historyLimit ? { historyLimit: opts.historyLimit } : {}),
          },
        ],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
        requestEagerStart: opts.eager,
        // What an operator reads first in the Web UI; delivery progress is in the current details.
        staticSummary: `${args.type} ${args.eventId}${args.customerId ? ` · customer ${args.customerId}` : ''} · ${args.operatorId}`,
        typedSearchAttributes: eventSearchAttributes(args, affiliateId),
      }),
    );
    await boundedWait(start, opts.timeoutMs, 'the workflow start');
  } catch (err) {
    // A closed run with this id exists: the event was processed already.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw err;
  }
}

/** What an operator's event needs to be started: its id, type, customer and attribution. */
export interface AcceptedEventRef {
  id: string;
  type: string;
  customerId: string;
  attribution?: { affiliateId?: string | undefined } | null | undefined;
}

/**
 * Starts the workflow of an operator's recorded event (`event:<operatorId>:<id>`), idempotently; with
 * `applied` when the caller applied the event already (the run then skips that step, and is findable by
 * the affiliate the event inherited from its registration from its start).
 */
export function startAcceptedEvent(
  client: Client,
  operatorId: string,
  event: AcceptedEventRef,
  opts: StartEventOptions,
  applied?: ProcessEventInput['applied'],
): Promise<void> {
  const inherited = applied?.facts.effectiveAttribution?.affiliateId;
  return startEventWorkflow(
    client,
    {
      workflowId: eventWorkflowId(operatorId, event.id),
      operatorId,
      eventId: event.id,
      type: event.type as EventType,
      customerId: event.customerId,
      affiliateId: typeof inherited === 'string' ? inherited : event.attribution?.affiliateId,
      ...(applied ? { applied } : {}),
    },
    opts,
  );
}
