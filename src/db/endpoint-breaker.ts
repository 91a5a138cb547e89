import type { BreakerState } from '../domain/breaker.js';
import type { Queryable } from './pool.js';

/**
 * An endpoint's circuit breaker as PostgreSQL keeps it (columns of `endpoints`, migration 019), shared by
 * every worker. It is counted by recordAttempt (src/db/attempt-record.ts) and consulted by claimAttempt
 * (src/db/delivery-claim.ts), each in the statement it already runs; this module reads it and hands on
 * the probe.
 */

export interface EndpointBreaker {
  state: BreakerState;
  /** When the current state began; null for an endpoint whose breaker never opened. */
  since: Date | null;
  /** The earliest time of the next probe while open; null when closed or a probe is on the wire. */
  nextProbeAt: Date | null;
  /** Failed attempts in a row, of any of its deliveries (one delivery's repeats counted once). */
  consecutiveFailures: number;
}

export interface BreakerColumns {
  consecutive_failures: number;
  breaker_opened_at: Date | null;
  breaker_since: Date | null;
  breaker_probe_at: Date | null;
  breaker_probe_started_at: Date | null;
}

export function breakerFromRow(r: BreakerColumns): EndpointBreaker {
  const state: BreakerState =
    r.breaker_opened_at === null ? 'closed' : r.breaker_probe_started_at ? 'half_open' : 'open';
  return {
    state,
    since: r.breaker_since ?? null,
    nextProbeAt: state === 'open' ? r.breaker_probe_at : null,
    consecutiveFailures: r.consecutive_failures ?? 0,
  };
}

/** SET terms that close an endpoint's breaker and forget its failures (re-enabling it by hand). */
export const BREAKER_RESET_SQL = `consecutive_failures = 0, breaker_last_failed = NULL,
  breaker_since = CASE WHEN breaker_opened_at IS NOT NULL THEN now() ELSE breaker_since END,
  breaker_opened_at = NULL, breaker_probe_at = NULL, breaker_probes_failed = 0, breaker_prober = NULL,
  breaker_probe_started_at = NULL`;

export interface BreakerWaiter {
  id: string;
  workflowId: string;
  since: Date;
}

/**
 * Hands the next probe of an open breaker with no prober to the delivery waiting for it longest, and
 * returns that delivery (for its workflow to be woken), or null when the breaker is closed, a prober is
 * already named, or nobody waits.
 */
export async function handProbeOn(db: Queryable, endpointId: string): Promise<BreakerWaiter | null> {
  const { rows } = await db.query<{ id: string; workflow_id: string; since: Date }>(
    `WITH next AS (
       SELECT d.id, d.workflow_id, d.breaker_wait_since AS since FROM deliveries d
        WHERE d.endpoint_id = $1 AND d.breaker_wait_since IS NOT NULL AND d.status IN ('pending', 'retrying')
        ORDER BY d.breaker_wait_since, d.id
        LIMIT 1
     ), named AS (
       UPDATE endpoints e SET breaker_prober = n.id
         FROM next n
        WHERE e.id = $1 AND e.breaker_opened_at IS NOT NULL AND e.breaker_prober IS NULL
        RETURNING n.id
     )
     SELECT n.id, n.workflow_id, n.since FROM next n JOIN named USING (id)`,
    [endpointId],
  );
  const r = rows[0];
  return r ? { id: r.id, workflowId: r.workflow_id, since: r.since } : null;
}

/**
 * One page, longest waiting first after `after`, of the deliveries waiting for an endpoint's breaker that
 * is closed now; none while it is open, so a sweep that runs late never wakes what must still wait.
 */
export async function breakerWaitersPage(
  db: Queryable,
  endpointId: string,
  after: { since: Date; id: string } | null,
  limit: number,
): Promise<BreakerWaiter[]> {
  const { rows } = await db.query<{ id: string; workflow_id: string; since: Date }>(
    `SELECT d.id, d.workflow_id, d.breaker_wait_since AS since
       FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
      WHERE d.endpoint_id = $1 AND d.breaker_wait_since IS NOT NULL AND d.status IN ('pending', 'retrying')
        AND e.breaker_opened_at IS NULL
        AND ($2::timestamptz IS NULL OR (d.breaker_wait_since, d.id) > ($2::timestamptz, $3::text))
      ORDER BY d.breaker_wait_since, d.id
      LIMIT $4`,
    [endpointId, after?.since ?? null, after?.id ?? null, limit],
  );
  return rows.map((r) => ({ id: r.id, workflowId: r.workflow_id, since: r.since }));
}
