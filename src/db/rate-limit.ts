import type { Queryable } from './pool.js';

/**
 * Per-endpoint send slots, shared by every worker through PostgreSQL: a virtual schedule where each
 * reservation takes the endpoint's next free slot and pushes it one interval on (`1 / perSecond`).
 *
 * A reserved slot is used or released, never lost. It is kept on the delivery (`slot_at`): a delivery that
 * must wait hands the wait to Temporal (a server-side timer, no worker slot held) and its next try sends in
 * the slot it reserved instead of queueing again. A delivery that ends without sending releases its slot;
 * when it was the endpoint's last reservation the schedule moves back to it, otherwise it stays as one idle
 * interval in the middle of the schedule (a gap, not a stall: later slots keep their times).
 */

/**
 * Reserves the next send slot of a rate-limited endpoint for a delivery and keeps it on the delivery, in
 * one round trip. When the slot is more than `sleepMaxMs` away the delivery's in-flight mark is dropped in
 * the same statement (nothing is sent on this try). Returns the wait until the slot, 0 when it is now.
 */
export async function reserveSendSlot(
  db: Queryable,
  deliveryId: string,
  endpointId: string,
  perSecond: number,
  sleepMaxMs: number,
): Promise<number> {
  const intervalMs = 1000 / perSecond;
  const { rows } = await db.query<{ wait_ms: number }>(
    `WITH slot AS (
       INSERT INTO endpoint_send_slots AS s (endpoint_id, next_slot)
       VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (endpoint_id) DO UPDATE
         SET next_slot = greatest(s.next_slot, clock_timestamp()) + make_interval(secs => $2::float8 / 1000)
       RETURNING next_slot - make_interval(secs => $2::float8 / 1000) AS at
     ), waits AS (
       SELECT at, greatest(0, extract(epoch FROM at - clock_timestamp()) * 1000)::float8 AS wait_ms FROM slot
     )
     UPDATE deliveries d
        SET slot_at = w.at,
            in_flight_attempt = CASE WHEN w.wait_ms > $4 THEN NULL ELSE d.in_flight_attempt END,
            in_flight_since = CASE WHEN w.wait_ms > $4 THEN NULL ELSE d.in_flight_since END
       FROM waits w
      WHERE d.id = $3
      RETURNING w.wait_ms`,
    [endpointId, intervalMs, deliveryId, sleepMaxMs],
  );
  return Math.max(0, Math.round(rows[0]?.wait_ms ?? 0));
}

/**
 * SQL fragment (for a statement that has the delivery's prior `endpoint_id` and `slot_at` in a CTE named
 * by `prior`) releasing a slot the delivery reserved and did not use. The schedule moves back only when
 * this was the endpoint's last reservation (the next free slot is this one's successor).
 */
export function releaseSlotSql(prior: string): string {
  return `UPDATE endpoint_send_slots s
             SET next_slot = p.slot_at
            FROM ${prior} p JOIN endpoints e ON e.id = p.endpoint_id
           WHERE s.endpoint_id = p.endpoint_id AND p.slot_at IS NOT NULL AND e.rate_limit_per_second > 0
             AND s.next_slot > p.slot_at
             AND s.next_slot < p.slot_at + make_interval(secs => 1.5 / e.rate_limit_per_second)`;
}
