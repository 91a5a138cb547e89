import { RETENTION_SETTINGS } from '../../config/retention.js';
import { ErrorOut } from '../../contract/common.js';
import { FEED_START, oldestFeedItemAt, readFeed, type FeedPage, type FeedPosition } from '../../db/feed.js';
import type { Pool } from '../../db/pool.js';
import { formatDuration } from '../../domain/duration.js';
import { recordedWebhookBody } from '../../domain/webhook-payload.js';
import { decodeFeedCursor, encodeFeedCursor, type FeedCursor } from '../cursor.js';
import { defineRoute } from '../route.js';
import { FeedOut, FeedQuery } from '../schemas/feed.js';

export interface FeedDeps {
  pool: Pool;
  /** RETENTION_EVENTS_AFTER: how far back the feed is complete (its default when absent). */
  retentionEventsMs?: number | undefined;
}

/** The catch-up feed: every event emitted to the operator's receivers, in a stable order, from a cursor. */
export function feedRoutes(deps: FeedDeps) {
  const keptForMs = deps.retentionEventsMs ?? RETENTION_SETTINGS.RETENTION_EVENTS_AFTER.parse(undefined);
  return [
    defineRoute({
      method: 'get',
      path: '/v1/feed',
      summary:
        'Every event emitted to receivers, oldest first, as the webhook body each carries, after a cursor that never skips or repeats one',
      auth: 'operator',
      query: FeedQuery,
      responses: {
        200: { description: '{data, nextCursor, hasMore, retention}', schema: FeedOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        422: { description: 'A cursor this API did not issue, or a bad filter', schema: ErrorOut },
      },
      handler: async ({ query, operator }) => {
        const after = query.after ? decodeFeedCursor(query.after, ['query', 'after']) : null;
        const patterns = query.types ?? [];
        const filter = {
          types: patterns.filter((p) => !p.endsWith('.*')),
          prefixes: patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -1)),
          affiliateId: query.affiliateId ?? null,
        };
        const page = await readFeed(deps.pool, operator.id, after ?? FEED_START, filter, query.limit);
        const oldest = await oldestFeedItemAt(deps.pool, operator.id);
        const data = page.items.map((item) => ({
          cursor: encodeFeedCursor({ ...item.position, at: item.emittedAt }),
          emittedAt: item.emittedAt.toISOString(),
          payload: recordedWebhookBody(item.deliveredType, item.event),
        }));
        return {
          status: 200,
          body: {
            data,
            nextCursor: encodeFeedCursor(nextCursor(page, after)),
            hasMore: page.hasMore,
            retention: {
              eventsKeptFor: formatDuration(keptForMs),
              oldestItemAt: oldest?.toISOString() ?? null,
              gap: after !== null && after.at.getTime() < page.readAt.getTime() - keptForMs,
            },
          },
        };
      },
    }),
  ];
}

/**
 * Where the reader goes on from: after the last item when more are waiting; else the read's horizon,
 * which every row it could not yet see lies beyond, so a filtered reader does not walk the rows it passed
 * over again (never before the cursor it came with).
 */
function nextCursor(page: FeedPage, after: FeedCursor | null): FeedCursor {
  const last = page.items[page.items.length - 1];
  if (page.hasMore) return { ...last!.position, at: last!.emittedAt };
  const from = after ?? { ...FEED_START, at: page.readAt };
  return isBefore(from, page.horizon) ? { ...page.horizon, at: page.readAt } : from;
}

function isBefore(a: FeedPosition, b: FeedPosition): boolean {
  const [ax, bx] = [BigInt(a.xid), BigInt(b.xid)];
  return ax < bx || (ax === bx && BigInt(a.seq) < BigInt(b.seq));
}
