import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { findDelivery, listDeliveries, requestCancel } from '../../db/deliveries.js';
import { attemptsOf } from '../../db/delivery-attempts.js';
import { CANCEL_REASONS } from '../../domain/cancel-reasons.js';
import { cancelDelivery, retryDelivery } from '../../temporal/event-signals.js';
import { boundedWait } from '../../temporal/timeout.js';
import { decodeCursor, page } from '../cursor.js';
import { AppError, errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import {
  DeliveryDetailOut,
  ListOperatorDeliveriesQuery,
  toAttemptOut,
  toDeliveryOut,
} from '../schemas/deliveries.js';
import { redriveBatch, type RedriveDeps } from '../../ingest/redrive.js';

const IdParams = z.object({ id: z.string().regex(/^dlv_[A-Za-z0-9]{1,40}$/, 'a delivery id') });

export function deliveryRoutes(deps: RedriveDeps) {
  const mustFind = async (operatorId: string, id: string) => {
    const d = await findDelivery(deps.pool, operatorId, id);
    if (!d) throw errors.notFound(`Delivery ${id}`);
    return d;
  };
  const signal = async (fn: (client: Client) => Promise<void>) => {
    try {
      const client = await deps.client();
      await boundedWait(fn(client), 5_000, 'the signal');
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') {
        throw new AppError(409, 'delivery_finished', 'The delivery has already finished.');
      }
      throw errors.unavailable('temporal');
    }
  };
  const notFound = { description: 'No such delivery for this operator', schema: ErrorOut };

  return [
    defineRoute({
      method: 'get',
      path: '/v1/deliveries',
      summary: 'List deliveries, newest first, filtered',
      auth: 'operator',
      query: ListOperatorDeliveriesQuery,
      responses: { 200: { description: '{data, nextCursor}' } },
      handler: async ({ query, operator }) => {
        const rows = await listDeliveries(
          deps.pool,
          operator.id,
          query,
          query.limit + 1,
          decodeCursor(query.cursor),
        );
        return { status: 200, body: page(rows, query.limit, toDeliveryOut) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/deliveries/{id}',
      summary:
        'A delivery with every attempt (response bodies as a printable preview of their first 4 KiB, other bytes escaped as \\xNN)',
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: 'The delivery', schema: DeliveryDetailOut }, 404: notFound },
      handler: async ({ params, operator }) => {
        const d = await mustFind(operator.id, params.id);
        const attempts = await attemptsOf(deps.pool, d.id);
        return { status: 200, body: { ...toDeliveryOut(d), attempts: attempts.map(toAttemptOut) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/deliveries/{id}/retry',
      summary: 'Attempt a retrying delivery now, or re-drive a failed one (same webhook-id)',
      auth: 'operator',
      params: IdParams,
      responses: {
        202: { description: 'Requested' },
        404: notFound,
        409: {
          description:
            'Succeeded, cancelled, not yet attempted, or an attempt is on the wire now (attempt_in_flight: its outcome counts, nothing more is sent)',
          schema: ErrorOut,
        },
      },
      handler: async ({ params, operator }) => {
        const d = await mustFind(operator.id, params.id);
        if ((d.status === 'retrying' || d.status === 'pending') && d.inFlightAttempt !== null) {
          // Cancelling it to start another would send the same delivery twice at once.
          throw new AppError(
            409,
            'attempt_in_flight',
            `Attempt ${d.inFlightAttempt} is being sent now; its outcome decides what follows.`,
          );
        }
        if (d.status === 'retrying') {
          await signal((client) => retryDelivery(client, d.workflowId, d.id));
        } else if (d.status === 'failed' && d.replacedByEventId) {
          throw new AppError(
            409,
            'delivery_replaced',
            'The commission this conversion earned was rejected or reversed before it was delivered: it is not sent again.',
          );
        } else if (d.status === 'failed') {
          await redriveBatch(deps, operator.id, [{ id: d.id, eventId: d.eventId, workflowId: d.workflowId }]);
        } else {
          throw new AppError(409, 'delivery_not_retryable', `A ${d.status} delivery cannot be retried.`);
        }
        return { status: 202, body: { id: d.id, status: 'requested' } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/deliveries/{id}/cancel',
      summary: 'Cancel a delivery that has not finished',
      auth: 'operator',
      params: IdParams,
      responses: {
        202: { description: 'Requested' },
        404: notFound,
        409: { description: 'Already finished', schema: ErrorOut },
      },
      handler: async ({ params, operator }) => {
        const d = await mustFind(operator.id, params.id);
        if (d.status !== 'pending' && d.status !== 'retrying') {
          const how = d.status === 'cancelled' ? 'was cancelled' : d.status;
          throw new AppError(409, 'delivery_finished', `The delivery has already finished: it ${how}.`);
        }
        // Noted first, so an attempt on the wire aborts its request instead of finishing it.
        await requestCancel(deps.pool, d.id);
        await signal((client) => cancelDelivery(client, d.workflowId, d.id, CANCEL_REASONS.request));
        return { status: 202, body: { id: d.id, status: 'requested' } };
      },
    }),
  ];
}
