import { z } from 'zod';
import type { Replay } from '../../db/replays.js';

/** An endpoint's replay from the catch-up feed (docs/api-v1.md section 8): what it takes, what it answers. */

export const ReplayIn = z
  .strictObject({
    after: z
      .string()
      .min(1)
      .max(200)
      .describe('A feed cursor (an item’s `cursor`, or a `nextCursor`): the replay starts after it'),
    until: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('A feed item’s `cursor`: the last item replayed (included); absent: up to now'),
    missingOnly: z
      .boolean()
      .default(false)
      .describe(
        'Leave out the items whose delivery to this endpoint succeeded (default: send them again, same webhook-id)',
      ),
  })
  .meta({ id: 'ReplayIn' });

export const ReplayParams = z.object({
  id: z.string().regex(/^ep_[A-Za-z0-9]{1,40}$/, 'an endpoint id'),
  replayId: z.string().regex(/^rpl_[A-Za-z0-9]{1,40}$/, 'a replay id'),
});

const count = (what: string) => z.number().int().describe(what);

export const ReplayOut = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    status: z
      .enum(['running', 'completed', 'failed', 'cancelled'])
      .describe('`completed` once every item in the range has been dealt with'),
    missingOnly: z.boolean(),
    workflowId: z.string().describe('`replay:<operatorId>:<replayId>` in the Temporal Web UI'),
    progress: z.object({
      pages: count('Pages of the feed dealt with'),
      scanned: count('Feed items in the range read so far'),
      queued: count(
        'Deliveries queued: put back to pending under their webhook-id, or made for the endpoint',
      ),
      resentSucceeded: count(
        'Of `queued`: deliveries that had succeeded, sent again (the receiver deduplicates)',
      ),
      inProgress: count(
        'Items whose delivery was still pending or retrying: left to go out on their schedule',
      ),
      skippedNotSubscribed: count("Items of a type, or an affiliate, the endpoint's subscription leaves out"),
      skippedFiltered: count("Items the endpoint's filter leaves out"),
      skippedSucceeded: count('Items whose delivery had succeeded, left out (`missingOnly`)'),
      skippedReplaced: count('Conversions a later event replaced: never sent again'),
    }),
    failure: z.string().nullable().describe('Why it failed (its endpoint was deleted)'),
    createdAt: z.string(),
    updatedAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .meta({ id: 'ReplayOut' });

export function toReplayOut(r: Replay): z.infer<typeof ReplayOut> {
  return {
    id: r.id,
    endpointId: r.endpointId,
    status: r.status,
    missingOnly: r.missingOnly,
    workflowId: r.workflowId,
    progress: { pages: r.pages, ...r.counts },
    failure: r.failure,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}
