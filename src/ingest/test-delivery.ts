import type { Client } from '@temporalio/client';
import type { Delivery } from '../db/deliveries.js';
import type { Endpoint } from '../db/endpoints.js';
import { randomBase62 } from '../db/new-id.js';
import type { Pool } from '../db/pool.js';
import { AppError, errors } from '../errors.js';
import { emitInternalEvent } from './internal-event.js';

export interface TestDeliveryDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
}

/**
 * Sends a `webhook.test` event to one endpoint only and answers its delivery, started: the operator's
 * `POST /v1/endpoints/{id}/test` and an affiliate's `POST /v1/portal/endpoints/{id}/test` alike. Temporal
 * away is a 503.
 */
export async function sendTestDelivery(
  deps: TestDeliveryDeps,
  operatorId: string,
  endpoint: Endpoint,
): Promise<Delivery> {
  try {
    const emitted = await emitInternalEvent(
      { pool: deps.pool, client: await deps.client(), taskQueue: deps.taskQueue, startTimeoutMs: 5_000 },
      {
        operatorId,
        key: `webhook.test~${endpoint.id}~${randomBase62(12)}`,
        type: 'webhook.test',
        data: { endpointId: endpoint.id, message: 'A test delivery from affiliate-hooks.' },
        onlyEndpoint: endpoint,
      },
    );
    return emitted.deliveries[0]!;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw errors.unavailable('temporal');
  }
}
