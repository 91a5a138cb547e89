import type { PostbackSettings } from '../domain/postback/presets.js';
import type { ResolvedRetryPolicy } from '../domain/retry-policy.js';
import type { DeliveryStatus } from './deliveries.js';
import { SWEEP_AGAIN_AFTER } from './endpoint-breaker.js';
import type { PreviousSecret } from './endpoints.js';
import type { Queryable } from './pool.js';

/** Everything one attempt of a delivery needs: the delivery, its endpoint and its event. */
export interface DeliveryContext {
  status: DeliveryStatus;
  /** Set when a rejection or reversal overtook this (conversion) delivery and cancelled it. */
  replaced_by_event_id: string | null;
  operator_id: string;
  attempt_count: number;
  redrive_count: number;
  /** The attempt this load marked in flight; null when nothing may be sent now. */
  in_flight_attempt: number | null;
  /** An attempt whose worker died during it, logged by this load as "outcome unknown". */
  lost_attempt: number | null;
  /** How long until the send slot this delivery reserved earlier; null without one. */
  slot_wait_ms: number | null;
  /** The endpoint's breaker is open and this load may not send: the delivery waits (no attempt spent). */
  breaker_held: boolean;
  /** This delivery is the one that probes the open breaker next (or now). */
  breaker_prober: boolean;
  /** The earliest time of the open breaker's next probe. */
  breaker_probe_at: Date | null;
  /** When the delivery's current schedule began (its creation, or its last redrive). */
  schedule_started_at: Date;
  /**
   * The endpoint's breaker is closed but deliveries still wait for it, and no sweep woke them in the last
   * 30 s (the worker that closed it stopped mid-sweep): this load is to run the sweep again.
   */
  breaker_sweep_due: boolean;
  rate_limit_per_second: number | null;
  event_type: string;
  retry_policy: ResolvedRetryPolicy;
  workflow_id: string;
  endpoint_id: string;
  format: 'webhook' | 'postback';
  postback: PostbackSettings | null;
  url: string;
  /** Sealed (a string) or a legacy plaintext map: open with openHeaders. */
  headers: string | Record<string, string>;
  timeout_ms: number;
  enabled: boolean;
  deleted_at: Date | null;
  secret_sealed: string;
  previous_secrets: PreviousSecret[];
  event_id: string;
  event_kind: string;
  occurred_at: Date;
  payload: {
    brand?: string;
    customerId?: string;
    data: Record<string, unknown>;
    attribution?: Record<string, unknown>;
  };
  facts: { effectiveAttribution: Record<string, unknown> | null } | null;
}

export const LOST_ATTEMPT_MESSAGE = 'outcome unknown: the worker stopped during the attempt';

/**
 * Loads a delivery for its next attempt and marks that attempt in flight, in one round trip.
 *
 * A mark left by an earlier load (its worker died between load and log) is first logged as an attempt
 * with an unknown outcome, so every request the receiver may have seen has its line in the log. The new
 * mark is set only when an attempt may go out now: the delivery is open, its endpoint enabled, any
 * reserved send slot is at most `slotSleepMaxMs` away, and the endpoint's breaker is closed or this
 * delivery takes its probe (the probe is due, and no other delivery is named to take it or probing), or
 * it is a `webhook.test` send, which the breaker never holds.
 * Held by the breaker, the delivery is marked waiting for it instead, and gives up a slot it reserved.
 */
export async function claimAttempt(
  db: Queryable,
  deliveryId: string,
  slotSleepMaxMs: number,
): Promise<DeliveryContext | null> {
  const { rows } = await db.query<DeliveryContext>({
    // Named: parsed and planned once per connection. Planned afresh, this statement's planning took
    // longer than its execution (about 1 ms against 0.3): the largest share of PostgreSQL's time for a
    // delivery. Its result columns are listed, so a migration that adds a column cannot break the plan.
    name: 'deliver:claim-1',
    text: `WITH prior AS (
       SELECT id, endpoint_id, status, slot_at, in_flight_attempt, in_flight_since, attempt_count, event_type
         FROM deliveries WHERE id = $1 FOR UPDATE
     ), lost AS (
       INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, error_class, error_message)
       SELECT id, in_flight_attempt, in_flight_since,
              greatest(0, extract(epoch FROM clock_timestamp() - in_flight_since) * 1000)::int, 'unknown', $3
         FROM prior WHERE in_flight_attempt > attempt_count
       ON CONFLICT DO NOTHING
       RETURNING number
     ), base AS (
       SELECT p.id, p.endpoint_id, greatest(p.attempt_count, coalesce(l.n, 0)) AS count, l.n AS lost_attempt,
              -- A slot reserved before a lost attempt went with it.
              CASE WHEN l.n IS NULL THEN p.slot_at END AS slot_at,
              -- A test send (after fixing the endpoint, say) is never held: it probes, and its success closes it.
              e.breaker_opened_at IS NOT NULL AND p.event_type <> 'webhook.test' AS breaker_open,
              p.status IN ('pending', 'retrying') AND e.enabled AND e.deleted_at IS NULL
                AND (l.n IS NOT NULL OR p.slot_at IS NULL
                     OR p.slot_at <= clock_timestamp() + make_interval(secs => $2::float8 / 1000)) AS eligible
         FROM prior p
         JOIN endpoints e ON e.id = p.endpoint_id
         CROSS JOIN (SELECT max(number) AS n FROM lost) l
     ), open_now AS (
       -- Read again under a share lock when the snapshot saw it open: a breaker closing meanwhile is
       -- either seen closed here or waits for this load's mark, so its wake-up sweep never misses it.
       SELECT e.id FROM endpoints e JOIN base b ON e.id = b.endpoint_id
        WHERE b.breaker_open AND b.eligible AND e.breaker_opened_at IS NOT NULL
        FOR SHARE OF e
     ), probe AS (
       -- An open breaker: this delivery is named its prober when nobody else is (or the one named has
       -- ended), and probes now when the probe is due and none is on the wire.
       UPDATE endpoints e
          SET breaker_prober = b.id,
              breaker_probe_started_at = CASE WHEN e.breaker_probe_at <= now() THEN now() END
         FROM base b
        WHERE e.id = b.endpoint_id AND e.id IN (SELECT id FROM open_now)
          AND (e.breaker_prober IS NULL OR e.breaker_prober = b.id
               OR NOT EXISTS (SELECT 1 FROM deliveries x
                               WHERE x.id = e.breaker_prober AND x.status IN ('pending', 'retrying')))
          AND (e.breaker_probe_started_at IS NULL OR e.breaker_prober = b.id
               OR e.breaker_probe_started_at < now() - make_interval(secs => (e.timeout_ms + 15000) / 1000.0))
        RETURNING e.breaker_probe_started_at IS NOT NULL AS probing, e.breaker_probe_at
     ), sweep AS (
       -- Deliveries left waiting for a breaker that closed (its sweep did not finish): sweep again, at most
       -- every 30 s. The index of waiting deliveries is empty for almost every endpoint: one probe of it.
       UPDATE endpoints e SET breaker_swept_at = now()
         FROM base b
        WHERE e.id = b.endpoint_id AND e.breaker_opened_at IS NULL AND e.breaker_swept_at IS NOT NULL
          AND e.breaker_swept_at < now() - ${SWEEP_AGAIN_AFTER}
          AND EXISTS (SELECT 1 FROM deliveries w
                       WHERE w.endpoint_id = e.id AND w.breaker_wait_since IS NOT NULL AND w.id <> b.id
                         AND w.status IN ('pending', 'retrying'))
        RETURNING e.id
     ), decided AS (
       SELECT b.*, b.eligible AND (NOT o.is_open OR coalesce(pr.probing, false)) AS ready,
              b.eligible AND o.is_open AND NOT coalesce(pr.probing, false) AS held,
              pr.probing IS NOT NULL AS prober, pr.breaker_probe_at AS probe_at
         FROM base b
         CROSS JOIN (SELECT EXISTS (SELECT 1 FROM open_now) AS is_open) o
         LEFT JOIN probe pr ON true
     ), claimed AS (
       UPDATE deliveries d
          SET attempt_count = b.count,
              -- Held by the breaker: the slot is given up (a gap in the schedule), and taken anew once it closes.
              slot_at = CASE WHEN b.held THEN NULL ELSE b.slot_at END,
              in_flight_attempt = CASE WHEN b.ready THEN b.count + 1 END,
              in_flight_since = CASE WHEN b.ready THEN clock_timestamp() END,
              breaker_wait_since = CASE WHEN b.held
                                        THEN coalesce(d.breaker_wait_since, date_trunc('milliseconds', clock_timestamp()))
                                   END
         FROM decided b
        WHERE d.id = b.id
        RETURNING d.*, b.lost_attempt, b.held, b.prober, b.probe_at
     )
     SELECT c.status, c.replaced_by_event_id, c.operator_id, c.attempt_count, c.redrive_count, c.event_type,
            c.retry_policy, c.workflow_id, c.endpoint_id, c.in_flight_attempt, c.lost_attempt,
            c.held AS breaker_held, c.prober AS breaker_prober,
            coalesce(c.probe_at, e.breaker_probe_at) AS breaker_probe_at,
            coalesce(c.schedule_started_at, c.created_at) AS schedule_started_at,
            EXISTS (SELECT 1 FROM sweep) AS breaker_sweep_due,
            -- (greatest() skips NULLs: no slot must stay NULL, not become 0)
            CASE WHEN c.slot_at IS NOT NULL
                 THEN greatest(0, extract(epoch FROM c.slot_at - clock_timestamp()) * 1000)::float8 END
              AS slot_wait_ms,
            e.rate_limit_per_second, e.format, e.postback, e.url, e.headers, e.timeout_ms, e.enabled,
            e.deleted_at, e.secret_sealed, e.previous_secrets,
            v.event_id, v.type AS event_kind, v.occurred_at, v.payload, v.facts
       FROM claimed c
       JOIN endpoints e ON e.id = c.endpoint_id
       JOIN events v ON v.operator_id = c.operator_id AND v.event_id = c.event_id`,
    values: [deliveryId, slotSleepMaxMs, LOST_ATTEMPT_MESSAGE],
  });
  return rows[0] ?? null;
}

/** Drops this delivery's in-flight mark without logging an attempt (nothing was sent after all). */
export async function releaseClaim(db: Queryable, deliveryId: string): Promise<void> {
  await db.query(
    'UPDATE deliveries SET in_flight_attempt = NULL, in_flight_since = NULL WHERE id = $1 AND in_flight_attempt IS NOT NULL',
    [deliveryId],
  );
}
