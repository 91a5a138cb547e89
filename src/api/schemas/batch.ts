import { z } from 'zod';
import { MAX_BATCH_EVENTS } from '../../ingest/accept-batch.js';
import { ErrorOut } from '../../contract/common.js';

/** Many events in one request (`POST /v1/events/batch`, and arrays sent to an inbound source). */

/** Items are validated one by one (an invalid item does not sink the batch), so the envelope takes any. */
const BatchItem = z.unknown().meta({
  description: 'An event as POST /v1/events takes it; each item is validated and answered on its own',
  allOf: [{ $ref: '#/components/schemas/EventIn' }],
});

export const EventBatchIn = z
  .strictObject({ events: z.array(BatchItem).min(1).max(MAX_BATCH_EVENTS) })
  .meta({ id: 'EventBatchIn' });
export type EventBatchIn = z.infer<typeof EventBatchIn>;

export const BatchItemResultOut = z
  .object({
    index: z.int().describe('Position of the item in the request'),
    id: z.string().nullable().describe("The item's id, when it has one"),
    status: z
      .enum(['accepted', 'duplicate', 'conflict', 'invalid', 'unavailable'])
      .describe(
        'accepted: recorded and its workflow started; duplicate: the same id with the same body was accepted ' +
          'before (nothing started); conflict: the same id with a different body; invalid: see issues; ' +
          'unavailable: recorded but not started (the answer is 503: retry the batch)',
      ),
    workflowId: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'BatchItemResult' });

export const EventBatchOut = z
  .object({ results: z.array(BatchItemResultOut).describe('One per item, in input order') })
  .meta({ id: 'EventBatchOut' });
export type EventBatchOut = z.infer<typeof EventBatchOut>;

export const EventBatchUnavailableOut = ErrorOut.extend({
  results: z.array(BatchItemResultOut).describe('One per item; accepted ones come back duplicate on retry'),
}).meta({ id: 'EventBatchUnavailable' });
