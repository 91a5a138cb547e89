import type { BreakerSettings } from '../domain/breaker.js';
import type { DeliveryStatus } from './deliveries.js';
import type { DeliveryAttempt } from './delivery-attempts.js';
import type { Queryable } from './pool.js';

export interface AttemptRecord extends DeliveryAttempt {
  /** The delivery's status after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  /**
   * What the attempt says of the endpoint, for its breaker: `failure` (no answer, or one the policy
   * retries), `success` (it answered: a 2xx, or a refusal a tracker means), null (cancelled, 410).
   */
  breakerEffect: 'failure' | 'success' | null;
}

/** How an attempt moved its endpoint's breaker, if it did. */
export type BreakerChange = 'opened' | 'closed' | 'probe_failed' | null;

export interface RecordedAttempt {
  failingSince: Date | null;
  status: DeliveryStatus;
  replacedByEventId: string | null;
  breakerChange: BreakerChange;
  /** The next probe's earliest time, when the breaker is open after this attempt. */
  breakerProbeAt: Date | null;
}

/**
 * The endpoint's failure clock and breaker, moved by one attempt (a CTE of recordAttempt, whose $9 is the
 * delivery's status after the attempt, $12 the endpoint, $15 the breaker effect, $16-$18 the settings).
 * Failures in a row are counted (one delivery's repeated failures once, until another's fail between:
 * a lone delivery's retries are its schedule's business); reaching the threshold opens the breaker, a failed probe pushes the next
 * one out (doubling, capped), any success closes it. The endpoint row is locked (and written) only when an
 * attempt failed or the endpoint was failing: a healthy endpoint's successes touch nothing.
 */
const ENDPOINT_HEALTH_SQL = `
     ep AS (
       SELECT id, consecutive_failures, breaker_last_failed, breaker_opened_at, breaker_prober,
              breaker_probe_started_at
         FROM endpoints
        WHERE id = $12 AND ($9 <> 'succeeded' OR failing_since IS NOT NULL OR consecutive_failures > 0
                            OR breaker_opened_at IS NOT NULL)
        FOR UPDATE
     ), moved AS (
       SELECT o.id,
              -- The same delivery failing again, with no other failure between, is not counted again.
              CASE WHEN o.breaker_last_failed IS DISTINCT FROM $1 THEN 1 ELSE 0 END AS step,
              $15::text = 'failure' AND o.breaker_opened_at IS NULL AND $16::int > 0
                AND o.consecutive_failures + CASE WHEN o.breaker_last_failed IS DISTINCT FROM $1 THEN 1 ELSE 0 END
                    >= $16::int AS opening,
              $15::text = 'success' AND o.breaker_opened_at IS NOT NULL AS closing,
              $15::text = 'failure' AND o.breaker_opened_at IS NOT NULL AND o.breaker_prober = $1
                AND o.breaker_probe_started_at IS NOT NULL AS probe_failed
         FROM ep o
     ), health AS (
       UPDATE endpoints e
          SET failing_since = CASE WHEN $9 = 'succeeded' THEN NULL ELSE coalesce(e.failing_since, now()) END,
              consecutive_failures = CASE $15::text WHEN 'failure' THEN e.consecutive_failures + m.step
                                       WHEN 'success' THEN 0 ELSE e.consecutive_failures END,
              breaker_last_failed = CASE $15::text WHEN 'failure' THEN $1 WHEN 'success' THEN NULL
                                      ELSE e.breaker_last_failed END,
              breaker_opened_at = CASE WHEN m.closing THEN NULL WHEN m.opening THEN now() ELSE e.breaker_opened_at END,
              breaker_since = CASE WHEN m.closing OR m.opening THEN now() ELSE e.breaker_since END,
              breaker_swept_at = CASE WHEN m.closing THEN now() ELSE e.breaker_swept_at END,
              breaker_probe_at = CASE WHEN m.closing THEN NULL
                                      WHEN m.opening THEN now() + make_interval(secs => $17::float8 / 1000)
                                      WHEN m.probe_failed THEN now() + make_interval(secs => least(
                                        $17::float8 * power(2, least(e.breaker_probes_failed + 1, 40)), $18::float8) / 1000)
                                      ELSE e.breaker_probe_at END,
              breaker_probes_failed = CASE WHEN m.closing OR m.opening THEN 0
                                           WHEN m.probe_failed THEN e.breaker_probes_failed + 1
                                           ELSE e.breaker_probes_failed END,
              -- The probe is handed on (src/ingest/breaker-waits.ts) or taken by the next delivery to come.
              breaker_prober = CASE WHEN m.closing OR m.opening OR m.probe_failed THEN NULL ELSE e.breaker_prober END,
              breaker_probe_started_at = CASE WHEN m.closing OR m.opening OR m.probe_failed THEN NULL
                                              ELSE e.breaker_probe_started_at END
         FROM moved m
        WHERE e.id = m.id
        RETURNING e.failing_since, e.breaker_probe_at,
                  CASE WHEN m.opening THEN 'opened' WHEN m.closing THEN 'closed' WHEN m.probe_failed THEN 'probe_failed'
                  END AS breaker_change
     )`;

/**
 * Logs one attempt and moves the delivery on, in one statement: the in-flight mark, the send slot the
 * attempt used and any breaker wait are cleared, and the endpoint's failure clock and breaker move.
 * Replay-safe: a repeated attempt number is ignored, and a delivery already finished (cancelled
 * meanwhile, say) keeps its final status.
 */
export async function recordAttempt(
  db: Queryable,
  deliveryId: string,
  endpointId: string,
  a: AttemptRecord,
  breaker: BreakerSettings,
): Promise<RecordedAttempt> {
  const { rows } = await db.query<{
    failing_since: Date | null;
    status: DeliveryStatus;
    replaced_by_event_id: string | null;
    breaker_change: BreakerChange;
    breaker_probe_at: Date | null;
  }>({
    // Named, like the claim (delivery-claim.ts): planned once per connection, not per attempt.
    name: 'deliver:record-attempt-1',
    text: `WITH attempt AS (
       INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, error_class,
                                      error_message, response_body, response_bytes, response_content_type,
                                      request)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $13, $14, $19)
       ON CONFLICT DO NOTHING
     ), ${ENDPOINT_HEALTH_SQL}
     UPDATE deliveries
        SET attempt_count = greatest(attempt_count, $2),
            -- A conversion cancelled because a reversal overtook it, whose attempt got through anyway: it was
            -- delivered, so say so; the caller then sends the reversal after it.
            status = CASE WHEN $9 = 'succeeded' AND status = 'cancelled' AND replaced_by_event_id IS NOT NULL
                            THEN 'succeeded'
                          WHEN status IN ('succeeded', 'failed', 'cancelled') THEN status ELSE $9 END,
            next_attempt_at = $10,
            last_error = CASE WHEN $9 = 'succeeded' AND status = 'cancelled' AND replaced_by_event_id IS NOT NULL
                                THEN 'delivered while a reversal was overtaking it: the reversal follows'
                              WHEN $9 = 'succeeded' THEN last_error ELSE $11 END,
            completed_at = CASE WHEN $9 IN ('succeeded', 'failed', 'cancelled') THEN coalesce(completed_at, now())
                                ELSE completed_at END,
            -- Only this attempt's own mark: a stale attempt (its worker presumed dead) must not clear the next.
            in_flight_since = CASE WHEN in_flight_attempt = $2 THEN NULL ELSE in_flight_since END,
            in_flight_attempt = CASE WHEN in_flight_attempt = $2 THEN NULL ELSE in_flight_attempt END,
            slot_at = NULL,
            breaker_wait_since = NULL,
            updated_at = now()
      WHERE id = $1
      RETURNING (SELECT failing_since FROM health) AS failing_since, status, replaced_by_event_id,
                (SELECT breaker_change FROM health) AS breaker_change,
                (SELECT breaker_probe_at FROM health) AS breaker_probe_at`,
    values: [
      deliveryId,
      a.number,
      a.startedAt,
      a.durationMs,
      a.statusCode,
      a.errorClass,
      a.errorMessage,
      a.responseBody,
      a.status,
      a.nextAttemptAt,
      a.errorMessage ? `${a.errorClass ?? 'error'}: ${a.errorMessage}`.slice(0, 1000) : null,
      endpointId,
      a.responseBytes ?? null,
      a.responseContentType?.slice(0, 200) ?? null,
      a.breakerEffect,
      breaker.failureThreshold,
      breaker.probeBaseMs,
      breaker.probeMaxMs,
      a.request ?? null,
    ],
  });
  const row = rows[0];
  return {
    failingSince: row?.failing_since ?? null,
    status: row?.status ?? a.status,
    replacedByEventId: row?.replaced_by_event_id ?? null,
    breakerChange: row?.breaker_change ?? null,
    breakerProbeAt: row?.breaker_probe_at ?? null,
  };
}
