import type { Client } from '@temporalio/client';
import type { ReplayEndpointInput } from '../../workflows/index.js';
import { SA } from '../domain/search-attributes.js';
import { WORKFLOW_TYPES } from './task-queues.js';
import { boundedWait } from './timeout.js';

/**
 * Starts an endpoint replay's workflow under its business-key id (`replay:<operator>:<replayId>`), found in
 * the Web UI by OperatorId and EndpointId. Resolves once the server has it.
 */
export async function startReplayWorkflow(
  client: Client,
  opts: { workflowId: string; taskQueue: string; timeoutMs: number; input: ReplayEndpointInput },
): Promise<void> {
  const { input } = opts;
  const start = client.withDeadline(Date.now() + opts.timeoutMs, () =>
    client.workflow.start(WORKFLOW_TYPES.replayEndpoint, {
      workflowId: opts.workflowId,
      taskQueue: opts.taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `replay of endpoint ${input.endpointId} from the feed (${input.replayId}) · ${input.operatorId}`,
      typedSearchAttributes: [
        { key: SA.OperatorId, value: input.operatorId },
        { key: SA.EndpointId, value: [input.endpointId] },
      ],
    }),
  );
  await boundedWait(start, opts.timeoutMs, 'the replay start');
}
