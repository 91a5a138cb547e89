import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ActivityDeps, ActivityPorts } from '../../../activities/index.js';
import type { Config } from '../../config.js';
import type { BreakerKey } from '../../config/breaker.js';
import type { Pool } from '../../db/pool.js';
import { deliveryDepsFrom, type DeliveryDeps, type DeliveryRuntime } from '../../delivery/deps.js';
import { wakeBreakerWaitsInBackground } from '../../ingest/breaker-waits.js';
import { endEndpointWaitsInBackground } from '../../ingest/endpoint-waits.js';
import { emitInternalEvent } from '../../ingest/internal-event.js';
import { signalCustomerEvent } from '../../temporal/customer-signals.js';
import {
  cancelDelivery,
  forgetSupersededRuns,
  replayDeliveries,
  reportAttemptFailed,
} from '../../temporal/event-signals.js';
import { startEventWorkflow } from '../../temporal/start-event.js';

/**
 * The activities' ports, implemented over the Temporal client and the intake: emitted events are
 * recorded and started on `taskQueue`, as are settlement notifications; customers are woken there too.
 */
export function temporalPorts(io: {
  pool: Pool;
  client: Client;
  taskQueue: string;
  logger?: Logger | undefined;
}): ActivityPorts {
  const { pool, client, taskQueue, logger } = io;
  return {
    emitInternalEvent: (opts, e) =>
      emitInternalEvent({ pool, client, taskQueue, startTimeoutMs: opts.startTimeoutMs }, e),
    startEventWorkflow: (input, opts) =>
      startEventWorkflow(client, input, { taskQueue, eager: false, timeoutMs: opts.timeoutMs }),
    signalCustomerEvent: (target, eventId) => signalCustomerEvent(client, { ...target, taskQueue }, eventId),
    replayDeliveries: async ({ workflowId, affiliateId, ...input }, plans) => {
      const { runId } = await replayDeliveries(client, { workflowId, taskQueue, input, affiliateId }, plans);
      // Best effort, as a redrive's: a closed run left behind is only a stale search result.
      await forgetSupersededRuns(client, workflowId, runId).catch((err: Error) =>
        logger?.warn({ workflowId, err: err.message }, 'superseded runs of a replay left'),
      );
    },
    reportAttemptFailed: (workflowId, info) => reportAttemptFailed(client, workflowId, info),
    cancelDelivery: async (workflowId, deliveryId, reason) => {
      try {
        await cancelDelivery(client, workflowId, deliveryId, reason);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
    endEndpointWaits: (operatorId, endpointId, reason) =>
      endEndpointWaitsInBackground(
        { pool, client: async () => client, logger },
        operatorId,
        endpointId,
        reason,
      ),
    wakeBreakerWaits: (endpointId, change) =>
      wakeBreakerWaitsInBackground({ pool, client: async () => client, logger }, endpointId, change),
  };
}

/** The activities' dependencies as a process (API with embedded worker, worker, test system) wires them. */
export function activityDepsFrom(
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ENDPOINT_DISABLE_AFTER' | 'DELIVERY_FAILING_AFTER_ATTEMPTS'> &
    Partial<Pick<Config, BreakerKey | 'FX_RATE_LOOKBACK_DAYS'>>,
  runtime: DeliveryRuntime,
  io: Pick<DeliveryDeps, 'pool' | 'logger'> & { client: Client },
): ActivityDeps {
  const { pool, client, logger } = io;
  return {
    ...deliveryDepsFrom(config, runtime, { pool, logger }),
    fxLookbackDays: config.FX_RATE_LOOKBACK_DAYS,
    ports: temporalPorts({ pool, client, taskQueue: config.TEMPORAL_TASK_QUEUE, logger }),
  };
}
