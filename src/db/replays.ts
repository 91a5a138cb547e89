import { NO_COUNTS, type ReplayCounts } from '../domain/replay.js';
import type { RoutingFilter } from '../domain/routing-filter.js';
import type { FeedPosition } from './feed.js';
import type { Queryable } from './pool.js';

/**
 * Repository of endpoint replays (migrations/028_endpoint_replays.sql): the replay rows, and the feed
 * items a replay's page reads, each with what the endpoint already has of it.
 */

export type ReplayStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface Replay {
  id: string;
  operatorId: string;
  endpointId: string;
  after: FeedPosition;
  /** The end of the range, excluded. */
  untilExclusive: FeedPosition;
  missingOnly: boolean;
  eventTypes: string[];
  affiliateId: string | null;
  filter: RoutingFilter | null;
  workflowId: string;
  status: ReplayStatus;
  failure: string | null;
  cursor: FeedPosition;
  pages: number;
  /** What the last page queued: event id -> its delivery ids. */
  lastPage: Record<string, string[]>;
  counts: ReplayCounts;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

interface ReplayRow {
  id: string;
  operator_id: string;
  endpoint_id: string;
  after_xid: string;
  after_seq: string;
  until_xid: string;
  until_seq: string;
  missing_only: boolean;
  event_types: string[];
  affiliate_id: string | null;
  filter: RoutingFilter | null;
  workflow_id: string;
  status: ReplayStatus;
  failure: string | null;
  cursor_xid: string;
  cursor_seq: string;
  pages: number;
  last_page: Record<string, string[]>;
  scanned: number;
  queued: number;
  resent_succeeded: number;
  in_progress: number;
  skipped_not_subscribed: number;
  skipped_filtered: number;
  skipped_succeeded: number;
  skipped_replaced: number;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

/** The count columns, by their names in ReplayCounts. */
const COUNT_COLUMNS: Record<keyof ReplayCounts, string> = {
  scanned: 'scanned',
  queued: 'queued',
  resentSucceeded: 'resent_succeeded',
  inProgress: 'in_progress',
  skippedNotSubscribed: 'skipped_not_subscribed',
  skippedFiltered: 'skipped_filtered',
  skippedSucceeded: 'skipped_succeeded',
  skippedReplaced: 'skipped_replaced',
};
const COUNT_KEYS = Object.keys(COUNT_COLUMNS) as (keyof ReplayCounts)[];

function fromRow(r: ReplayRow): Replay {
  const counts = { ...NO_COUNTS };
  for (const k of COUNT_KEYS) counts[k] = Number(r[COUNT_COLUMNS[k] as keyof ReplayRow]);
  return {
    id: r.id,
    operatorId: r.operator_id,
    endpointId: r.endpoint_id,
    after: { xid: r.after_xid, seq: r.after_seq },
    untilExclusive: { xid: r.until_xid, seq: r.until_seq },
    missingOnly: r.missing_only,
    eventTypes: r.event_types,
    affiliateId: r.affiliate_id,
    filter: r.filter,
    workflowId: r.workflow_id,
    status: r.status,
    failure: r.failure,
    cursor: { xid: r.cursor_xid, seq: r.cursor_seq },
    pages: r.pages,
    lastPage: r.last_page,
    counts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

const COLUMNS = `id, operator_id, endpoint_id, after_xid::text, after_seq::text, until_xid::text, until_seq::text,
  missing_only, event_types, affiliate_id, filter, workflow_id, status, failure, cursor_xid::text,
  cursor_seq::text, pages, last_page, ${Object.values(COUNT_COLUMNS).join(', ')}, created_at, updated_at,
  completed_at`;

/** The feed's horizon now: every row below (xid, 0) is visible, and no row can appear there later. */
export async function feedHorizon(db: Queryable): Promise<FeedPosition> {
  const { rows } = await db.query<{ xmin: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return { xid: rows[0]!.xmin, seq: '0' };
}

export interface NewReplay {
  id: string;
  operatorId: string;
  endpointId: string;
  after: FeedPosition;
  untilExclusive: FeedPosition;
  missingOnly: boolean;
  eventTypes: string[];
  affiliateId: string | null;
  filter: RoutingFilter | null;
  workflowId: string;
}

export async function insertReplay(db: Queryable, r: NewReplay): Promise<Replay> {
  const { rows } = await db.query<ReplayRow>(
    `INSERT INTO endpoint_replays (id, operator_id, endpoint_id, after_xid, after_seq, until_xid, until_seq,
                                   missing_only, event_types, affiliate_id, filter, workflow_id, cursor_xid,
                                   cursor_seq)
     VALUES ($1, $2, $3, $4::xid8, $5, $6::xid8, $7, $8, $9, $10, $11::jsonb, $12, $4::xid8, $5)
     RETURNING ${COLUMNS}`,
    [
      r.id,
      r.operatorId,
      r.endpointId,
      r.after.xid,
      r.after.seq,
      r.untilExclusive.xid,
      r.untilExclusive.seq,
      r.missingOnly,
      r.eventTypes,
      r.affiliateId,
      r.filter ? JSON.stringify(r.filter) : null,
      r.workflowId,
    ],
  );
  return fromRow(rows[0]!);
}

/** A replay of the operator's endpoint; `forUpdate` locks it (a page's transaction). */
export async function findReplay(
  db: Queryable,
  operatorId: string,
  replayId: string,
  opts: { endpointId?: string; forUpdate?: boolean } = {},
): Promise<Replay | null> {
  const { rows } = await db.query<ReplayRow>(
    `SELECT ${COLUMNS} FROM endpoint_replays
      WHERE operator_id = $1 AND id = $2 AND ($3::text IS NULL OR endpoint_id = $3)
      ${opts.forUpdate ? 'FOR UPDATE' : ''}`,
    [operatorId, replayId, opts.endpointId ?? null],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The endpoint's replays, newest first (at most `limit`). */
export async function listReplays(
  db: Queryable,
  operatorId: string,
  endpointId: string,
  limit: number,
): Promise<Replay[]> {
  const { rows } = await db.query<ReplayRow>(
    `SELECT ${COLUMNS} FROM endpoint_replays WHERE operator_id = $1 AND endpoint_id = $2
      ORDER BY created_at DESC, id DESC LIMIT $3`,
    [operatorId, endpointId, limit],
  );
  return rows.map(fromRow);
}

/** Forgets a replay whose workflow could not be started (the caller answers 503: nothing happened). */
export async function deleteReplay(db: Queryable, replayId: string): Promise<void> {
  await db.query('DELETE FROM endpoint_replays WHERE id = $1 AND pages = 0', [replayId]);
}

/** Records a page dealt with: where it ended, what it queued, its counts added; `done` completes it. */
export async function advanceReplay(
  db: Queryable,
  replayId: string,
  page: { cursor: FeedPosition; queued: Record<string, string[]>; counts: ReplayCounts; done: boolean },
): Promise<void> {
  const adds = COUNT_KEYS.map((k, i) => `${COUNT_COLUMNS[k]} = ${COUNT_COLUMNS[k]} + $${i + 5}`);
  await db.query(
    `UPDATE endpoint_replays
        SET cursor_xid = $2::xid8, cursor_seq = $3, last_page = $4::jsonb, pages = pages + 1, ${adds.join(', ')},
            status = CASE WHEN $${COUNT_KEYS.length + 5} THEN 'completed' ELSE status END,
            completed_at = CASE WHEN $${COUNT_KEYS.length + 5} THEN now() END, updated_at = now()
      WHERE id = $1`,
    [
      replayId,
      page.cursor.xid,
      page.cursor.seq,
      JSON.stringify(page.queued),
      ...COUNT_KEYS.map((k) => page.counts[k]),
      page.done,
    ],
  );
}

/** Ends a running replay: failed (and why), or cancelled. Answers whether it was running. */
export async function endReplay(
  db: Queryable,
  replayId: string,
  status: 'failed' | 'cancelled',
  failure: string | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE endpoint_replays SET status = $2, failure = $3, completed_at = now(), updated_at = now()
      WHERE id = $1 AND status = 'running'`,
    [replayId, status, failure],
  );
  return rowCount === 1;
}

/** One feed item of a replay's page, with what its filter reads and the endpoint's delivery of it. */
export interface ReplayFeedItem {
  position: FeedPosition;
  eventId: string;
  eventType: string;
  customerId: string;
  workflowId: string;
  deliveredType: string;
  affiliateId: string | null;
  brand: unknown;
  attribution: Record<string, unknown> | null;
  data: Record<string, unknown> | null;
  customerCountry: string | null;
  delivery: { id: string; status: string; replaced: boolean } | null;
}

/**
 * Up to `limit` feed items of the operator after `after` and before `untilExclusive`, in feed order, as
 * readFeed (src/db/feed.ts) reads them: only rows whose transaction is below the snapshot's xmin.
 */
export async function readReplayPage(
  db: Queryable,
  replay: Pick<Replay, 'operatorId' | 'endpointId' | 'untilExclusive'>,
  after: FeedPosition,
  limit: number,
): Promise<ReplayFeedItem[]> {
  const { rows } = await db.query<{
    xid: string;
    seq: string;
    event_id: string;
    type: string;
    customer_id: string;
    workflow_id: string;
    delivered_type: string;
    affiliate_id: string | null;
    payload: { brand?: unknown; attribution?: Record<string, unknown>; data?: Record<string, unknown> };
    facts: { effectiveAttribution?: Record<string, unknown> | null } | null;
    country: string | null;
    delivery_id: string | null;
    delivery_status: string | null;
    replaced: boolean;
  }>(
    `SELECT f.xid::text AS xid, f.seq::text AS seq, e.event_id, e.type, e.customer_id, e.workflow_id,
            f.type AS delivered_type, f.affiliate_id, e.payload, e.facts, c.country,
            d.id AS delivery_id, d.status AS delivery_status, d.replaced_by_event_id IS NOT NULL AS replaced
       FROM feed_items f
       JOIN events e ON e.operator_id = f.operator_id AND e.event_id = f.event_id
       LEFT JOIN customers c ON c.operator_id = e.operator_id AND c.customer_id = e.customer_id
       LEFT JOIN deliveries d ON d.operator_id = f.operator_id AND d.event_id = f.event_id
                             AND d.endpoint_id = $2 AND d.event_type = f.type
      WHERE f.operator_id = $1
        AND (f.xid, f.seq) > ($3::xid8, $4::bigint)
        AND (f.xid, f.seq) < ($5::xid8, $6::bigint)
        AND f.xid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY f.xid, f.seq
      LIMIT $7`,
    [
      replay.operatorId,
      replay.endpointId,
      after.xid,
      after.seq,
      replay.untilExclusive.xid,
      replay.untilExclusive.seq,
      limit,
    ],
  );
  return rows.map((r) => ({
    position: { xid: r.xid, seq: r.seq },
    eventId: r.event_id,
    eventType: r.type,
    customerId: r.customer_id,
    workflowId: r.workflow_id,
    deliveredType: r.delivered_type,
    affiliateId: r.affiliate_id,
    brand: r.payload.brand,
    attribution: r.facts?.effectiveAttribution ?? r.payload.attribution ?? null,
    data: r.payload.data ?? null,
    customerCountry: r.country,
    delivery: r.delivery_id ? { id: r.delivery_id, status: r.delivery_status!, replaced: r.replaced } : null,
  }));
}
