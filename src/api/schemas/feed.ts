import { z } from 'zod';
import { ExternalId } from '../../contract/common.js';
import { ALL_EVENT_TYPES } from '../../domain/event-types.js';
import { matchesEventType } from '../../domain/matching.js';

/** The catch-up feed (`GET /v1/feed`, docs/api-v1.md section 8): its query and its answer. */

const TYPE_OR_PREFIX = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;

/** `types=deposit.ftd,commission.*`: exact types and `prefix.*`, each naming some type of the catalogue. */
const FeedTypes = z
  .string()
  .max(2_000)
  .transform((s) => s.split(','))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(TYPE_OR_PREFIX, 'an event type or `prefix.*` (omit `types` for every type)')
          .refine(
            (p) => ALL_EVENT_TYPES.some((t) => matchesEventType([p], t)),
            'names no event type of the catalogue (GET /v1/event-types)',
          ),
      )
      .max(50),
  );

export const FeedQuery = z.object({
  after: z
    .string()
    .max(200)
    .optional()
    .describe('A cursor from an earlier answer (`nextCursor`, or an item’s `cursor`); absent: the start'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  types: FeedTypes.optional().describe(
    'Comma-separated exact types and `prefix.*` (any of them); absent: every type',
  ),
  affiliateId: ExternalId.optional().describe("Only this affiliate's events (their resolved attribution)"),
});
export type FeedQuery = z.infer<typeof FeedQuery>;

/** The webhook body, any type: `GET /v1/event-types/{type}` has each type's own schema. */
const WebhookBodyOut = z
  .object({
    type: z.string().describe('The type it is delivered as'),
    timestamp: z.string(),
    data: z.object({
      eventId: z.string(),
      sourceType: z.string(),
      occurredAt: z.string(),
      brand: z.string().nullable(),
      customerId: z.string(),
      attribution: z.record(z.string(), z.unknown()).nullable(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .describe('Exactly the JSON body a `format: "webhook"` endpoint receives for it (the signature aside)');

export const FeedItemOut = z.object({
  cursor: z.string().describe('Where this item stands: `after` this cursor lists what follows it'),
  emittedAt: z.string().describe('When the orchestrator emitted it (recorded it as delivered as its type)'),
  payload: WebhookBodyOut,
});

export const FeedOut = z
  .object({
    data: z.array(FeedItemOut),
    nextCursor: z
      .string()
      .describe('Always set: pass it as `after` to go on (the same position again when nothing was new)'),
    hasMore: z.boolean().describe('More items are listed now: ask again at once'),
    retention: z.object({
      eventsKeptFor: z
        .string()
        .describe('RETENTION_EVENTS_AFTER: events emitted this long ago or less are all in the feed'),
      oldestItemAt: z
        .string()
        .nullable()
        .describe('When the oldest item still kept was emitted; null when the feed is empty'),
      gap: z
        .boolean()
        .describe(
          '`after` stands further back than `eventsKeptFor`: items after it may have been deleted since',
        ),
    }),
  })
  .meta({ id: 'FeedOut' });
