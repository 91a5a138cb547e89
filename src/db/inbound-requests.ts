import { afterCursor, NEWEST_FIRST } from './keyset.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';

/** One request to an inbound source as its operator may read it: no token, signature or body. */
export interface InboundRequest {
  id: string;
  createdAt: Date;
  method: string;
  ip: string;
  status: number;
  /** The refusal or failure as a code (`wrong_signature`, `validation_failed`, ...); null when accepted. */
  reason: string | null;
  eventIds: string[];
}

export interface InboundRequestIn {
  sourceId: string;
  method: string;
  ip: string;
  status: number;
  reason: string | null;
  eventIds: string[];
}

/** How long a source's requests are kept: each new one removes the source's older ones. */
export const INBOUND_REQUESTS_KEPT = '7 days';

/**
 * Notes a request to source `sourceId`, for its operator; a source that does not exist (a probe) gets no
 * row, since nobody owns it.
 */
export async function recordInboundRequest(db: Queryable, r: InboundRequestIn): Promise<void> {
  await db.query(
    `WITH pruned AS (
       DELETE FROM inbound_requests
        WHERE source_id = $2 AND created_at < now() - interval '${INBOUND_REQUESTS_KEPT}'
     )
     INSERT INTO inbound_requests (id, operator_id, source_id, method, ip, status, reason, event_ids)
     SELECT $1, s.operator_id, s.id, $3, $4, $5, $6, $7 FROM sources s WHERE s.id = $2`,
    [newId('inboundRequest'), r.sourceId, r.method, r.ip.slice(0, 64), r.status, r.reason, r.eventIds],
  );
}

/** A source's requests, newest first, keyset-paginated on (created_at, id). */
export async function listInboundRequests(
  db: Queryable,
  operatorId: string,
  sourceId: string,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<InboundRequest[]> {
  const { rows } = await db.query<{
    id: string;
    created_at: Date;
    method: string;
    ip: string;
    status: number;
    reason: string | null;
    event_ids: string[];
  }>(
    `SELECT id, created_at, method, ip, status, reason, event_ids FROM inbound_requests
      WHERE operator_id = $1 AND source_id = $2 AND ${afterCursor(3, 4)}
      ${NEWEST_FIRST}
      LIMIT $5`,
    [operatorId, sourceId, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    method: r.method,
    ip: r.ip,
    status: r.status,
    reason: r.reason,
    eventIds: r.event_ids,
  }));
}
