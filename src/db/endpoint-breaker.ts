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

/** How long a sweep of an endpoint's waiting deliveries is given before another may run (claim or watch). */
export const SWEEP_AGAIN_AFTER = "interval '30 seconds'";

/**
 * Closed breakers whose waiting deliveries were not all woken (the sweep after the close stopped, or its
 * signals were lost) and not swept for SWEEP_AGAIN_AFTER: each is marked swept now and returned, so one
 * watcher, and no claim meanwhile, sweeps it again. The index of waiting deliveries answers each in one probe.
 */
export async function unsweptBreakers(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE endpoints e SET breaker_swept_at = now()
      WHERE e.id IN (
        SELECT x.id FROM endpoints x
         WHERE x.breaker_opened_at IS NULL AND x.breaker_swept_at < now() - ${SWEEP_AGAIN_AFTER}
           AND EXISTS (SELECT 1 FROM deliveries w
                        WHERE w.endpoint_id = x.id AND w.breaker_wait_since IS NOT NULL
                          AND w.status IN ('pending', 'retrying'))
         LIMIT $1 FOR UPDATE SKIP LOCKED)
        AND e.breaker_opened_at IS NULL
      RETURNING e.id`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Open breakers whose probe is overdue by `graceMs` and not on the wire (or on the wire past its
 * activity's time: its worker died), for one delivery to be woken to make it: the one named, while it is
 * pending; else the one waiting longest, named here. A breaker nudged is not nudged again for
 * SWEEP_AGAIN_AFTER (breaker_swept_at, unused while it is open), so a prober queued behind a backlog is not
 * cancelled and rescheduled on every look.
 */
export async function overdueProbers(
  db: Queryable,
  graceMs: number,
  limit: number,
): Promise<Array<BreakerWaiter & { endpointId: string }>> {
  const { rows } = await db.query<{ endpoint_id: string; id: string; workflow_id: string; since: Date }>(
    `WITH overdue AS (
       SELECT e.id, p.id AS prober_id, p.workflow_id AS prober_workflow_id, p.breaker_wait_since AS prober_since
         FROM endpoints e
         LEFT JOIN deliveries p ON p.id = e.breaker_prober AND p.status IN ('pending', 'retrying')
        WHERE e.breaker_opened_at IS NOT NULL
          AND (e.breaker_swept_at IS NULL OR e.breaker_swept_at < now() - ${SWEEP_AGAIN_AFTER})
          AND CASE WHEN e.breaker_probe_started_at IS NULL
                   THEN e.breaker_probe_at < now() - make_interval(secs => $1::float8 / 1000)
                   ELSE e.breaker_probe_started_at
                        < now() - make_interval(secs => (e.timeout_ms + 15000 + $1::float8) / 1000) END
        LIMIT $2
        FOR UPDATE OF e SKIP LOCKED
     ), next AS (
       SELECT o.id AS endpoint_id, coalesce(o.prober_id, w.id) AS id,
              coalesce(o.prober_workflow_id, w.workflow_id) AS workflow_id,
              coalesce(o.prober_since, w.since, now()) AS since
         FROM overdue o
         LEFT JOIN LATERAL (
           SELECT d.id, d.workflow_id, d.breaker_wait_since AS since FROM deliveries d
            WHERE o.prober_id IS NULL AND d.endpoint_id = o.id AND d.breaker_wait_since IS NOT NULL
              AND d.status IN ('pending', 'retrying')
            ORDER BY d.breaker_wait_since, d.id
            LIMIT 1) w ON true
        WHERE coalesce(o.prober_id, w.id) IS NOT NULL
     ), nudged AS (
       UPDATE endpoints e
          SET breaker_swept_at = now(), breaker_prober = n.id,
              -- A probe left by a delivery that ended is over: the one named now starts its own.
              breaker_probe_started_at = CASE WHEN e.breaker_prober IS DISTINCT FROM n.id THEN NULL
                                              ELSE e.breaker_probe_started_at END
         FROM next n
        WHERE e.id = n.endpoint_id
        RETURNING e.id
     )
     SELECT n.endpoint_id, n.id, n.workflow_id, n.since FROM next n JOIN nudged u ON u.id = n.endpoint_id`,
    [graceMs, limit],
  );
  return rows.map((r) => ({
    endpointId: r.endpoint_id,
    id: r.id,
    workflowId: r.workflow_id,
    since: r.since,
  }));
}
