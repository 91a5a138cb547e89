import type { RecordedEvent } from '../domain/webhook-payload.js';
import type { Queryable } from './pool.js';

/**
 * Repository of the catch-up feed (migrations/024_feed.sql says how rows are written and why they are
 * ordered by the writing transaction's id). A read returns only rows whose transaction is below its own
 * snapshot's xmin: every such transaction has ended, so no row can later appear before a position handed
 * out, and a reader that goes on from its last position never skips or repeats a row.
 */

/** A position in the feed: (transaction id, sequence), as decimal strings (xid8 and bigint). */
export interface FeedPosition {
  xid: string;
  seq: string;
}

export const FEED_START: FeedPosition = { xid: '0', seq: '0' };

/** What a read lists: exact types and `prefix.` prefixes (any of them), and one affiliate's rows. */
export interface FeedFilter {
  types: readonly string[];
  prefixes: readonly string[];
  affiliateId: string | null;
}

export interface FeedItem {
  position: FeedPosition;
  /** When the row was written: when the event was emitted as this type. */
  emittedAt: Date;
  /** The type it was delivered as (`deposit.ftd` for a first deposit's second row). */
  deliveredType: string;
  event: RecordedEvent;
}

export interface FeedPage {
  /** At most `limit` items after the position, in feed order. */
  items: FeedItem[];
  /** More rows than `limit` are readable now. */
  hasMore: boolean;
  /**
   * The read's horizon: no row at or after the position and below (horizon, 0) was left out, and none
   * can appear there later. With no more rows, a reader may go on from it rather than from its last item.
   */
  horizon: FeedPosition;
  /** The database's clock at the read. */
  readAt: Date;
}

interface Row {
  horizon: string;
  read_at: Date;
  xid: string | null;
  seq: string | null;
  delivered_type: string;
  created_at: Date;
  event_id: string;
  type: string;
  occurred_at: Date;
  payload: RecordedEvent['payload'];
  facts: RecordedEvent['facts'];
}

/** Up to `limit` feed items of the operator after `after` that pass the filter, in feed order. */
export async function readFeed(
  db: Queryable,
  operatorId: string,
  after: FeedPosition,
  filter: FeedFilter,
  limit: number,
): Promise<FeedPage> {
  const typed = filter.types.length > 0 || filter.prefixes.length > 0;
  const { rows } = await db.query<Row>(
    // One statement, one snapshot: the horizon and the rows below it are read from the same one.
    `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, now() AS read_at)
     SELECT h.xmin::text AS horizon, h.read_at, i.*
       FROM h LEFT JOIN LATERAL (
         SELECT f.xid AS xid8, f.xid::text AS xid, f.seq::text AS seq, f.type AS delivered_type, f.created_at,
                e.event_id, e.type, e.occurred_at, e.payload, e.facts
           FROM feed_items f
           JOIN events e ON e.operator_id = f.operator_id AND e.event_id = f.event_id
          WHERE f.operator_id = $1
            AND (f.xid, f.seq) > ($2::xid8, $3::bigint)
            AND f.xid < h.xmin
            AND (NOT $4::boolean OR f.type = ANY($5::text[])
                 OR EXISTS (SELECT 1 FROM unnest($6::text[]) p WHERE starts_with(f.type, p)))
            AND ($7::text IS NULL OR f.affiliate_id = $7::text)
          ORDER BY f.xid, f.seq
          LIMIT $8
       ) i ON true
      ORDER BY i.xid8, i.seq::bigint`,
    [operatorId, after.xid, after.seq, typed, filter.types, filter.prefixes, filter.affiliateId, limit + 1],
  );
  const first = rows[0]!;
  const found = rows.filter((r) => r.xid !== null);
  return {
    items: found.slice(0, limit).map((r) => ({
      position: { xid: r.xid!, seq: r.seq! },
      emittedAt: r.created_at,
      deliveredType: r.delivered_type,
      event: {
        eventId: r.event_id,
        type: r.type,
        occurredAt: r.occurred_at,
        payload: r.payload,
        facts: r.facts,
      },
    })),
    hasMore: found.length > limit,
    horizon: { xid: first.horizon, seq: '0' },
    readAt: first.read_at,
  };
}

/** When the operator's oldest feed row still kept was written; null when the feed is empty. */
export async function oldestFeedItemAt(db: Queryable, operatorId: string): Promise<Date | null> {
  const { rows } = await db.query<{ created_at: Date }>(
    `SELECT created_at FROM feed_items WHERE operator_id = $1 ORDER BY xid, seq LIMIT 1`,
    [operatorId],
  );
  return rows[0]?.created_at ?? null;
}
