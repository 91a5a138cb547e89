import { admitIntake } from '../../ingest/intake-limit.js';
import { acceptBatch, type BatchItemResult } from '../../ingest/accept-batch.js';
import type { AcceptDeps } from '../../ingest/accept-event.js';
import { AppError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { EventBatchIn, EventBatchOut, EventBatchUnavailableOut } from '../schemas/batch.js';
import { ErrorOut } from '../../contract/common.js';

/**
 * 503 for a batch some of whose items could not be started. It keeps the error shape (and Retry-After,
 * which the error handler sets for every 503) and adds every item's result, so a sender sees which
 * items are already accepted; retrying the whole batch is safe, those come back `duplicate`.
 */
export class BatchUnavailableError extends AppError {
  constructor(readonly results: BatchItemResult[]) {
    super(
      503,
      'service_unavailable',
      'The workflow engine is unreachable; items marked unavailable were recorded but not acknowledged. Retry the batch.',
    );
  }

  override toJSON() {
    return { ...super.toJSON(), results: this.results };
  }
}

export function eventBatchRoutes(deps: { accept: AcceptDeps }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/events/batch',
      summary: 'Submit up to 500 events; each is validated, recorded and started on its own',
      auth: 'operator',
      body: EventBatchIn,
      responses: {
        200: {
          description:
            'The batch was processed: one result per item, in input order (invalid items do not fail the batch)',
          schema: EventBatchOut,
        },
        400: { description: 'Malformed JSON', schema: ErrorOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        413: { description: 'Body over the limit', schema: ErrorOut },
        415: { description: 'Not JSON', schema: ErrorOut },
        422: {
          description:
            "Malformed envelope: not {events: [...]} with 1 to 500 items, or more items than the operator's intake burst",
          schema: ErrorOut,
        },
        429: {
          description:
            "Over the operator's intake limit: nothing recorded; retry after `Retry-After` seconds",
          schema: ErrorOut,
        },
        503: {
          description:
            'Temporal unreachable for some items (status unavailable) or PostgreSQL unreachable; retry with the same body',
          schema: EventBatchUnavailableOut,
        },
      },
      handler: async ({ body, operator }) => {
        await admitIntake(deps.accept.pool, operator, body.events.length);
        const outcome = await acceptBatch(deps.accept, operator.id, body.events);
        if (outcome.unavailable) throw new BatchUnavailableError(outcome.results);
        return { status: 200, body: { results: outcome.results } };
      },
    }),
  ];
}
