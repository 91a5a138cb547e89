import type { Queryable } from './pool.js';

/**
 * Reserves the next send slot of an endpoint limited to `perSecond` sends, shared by every worker through
 * PostgreSQL (a virtual schedule: each reservation pushes the endpoint's next free slot one interval on).
 * Returns how long the caller must wait before sending; 0 when it may send now.
 */
export async function reserveSendSlot(db: Queryable, endpointId: string, perSecond: number): Promise<number> {
  const intervalMs = 1000 / perSecond;
  const { rows } = await db.query<{ wait_ms: number }>(
    `INSERT INTO endpoint_send_slots AS s (endpoint_id, next_slot)
     VALUES ($1, clock_timestamp() + make_interval(secs => $2::double precision / 1000))
     ON CONFLICT (endpoint_id) DO UPDATE
       SET next_slot = greatest(s.next_slot, clock_timestamp()) + make_interval(secs => $2::double precision / 1000)
     RETURNING greatest(0, extract(epoch FROM (next_slot - clock_timestamp())) * 1000 - $2::double precision)::float8
               AS wait_ms`,
    [endpointId, intervalMs],
  );
  return Math.max(0, Math.round(rows[0]!.wait_ms));
}
