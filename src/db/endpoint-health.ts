import type { Queryable } from './pool.js';

/** An endpoint's attempts since a moment: how many, how many got through, and the latest failure. */
export interface EndpointHealth {
  attempts: number;
  succeeded: number;
  lastFailure: {
    deliveryId: string;
    number: number;
    at: Date;
    statusCode: number | null;
    error: string;
  } | null;
}

/**
 * Counts the attempts to one endpoint started at or after `since` (an attempt failed when it has an error;
 * a 2xx a postback's `successMatch` refused has one too). Only deliveries changed since then can hold such
 * attempts (each attempt touches its delivery), which the (endpoint_id, status, updated_at) index finds.
 */
export async function endpointHealth(
  db: Queryable,
  operatorId: string,
  endpointId: string,
  since: Date,
): Promise<EndpointHealth> {
  const { rows } = await db.query<{
    attempts: number;
    succeeded: number;
    delivery_id: string | null;
    number: number | null;
    started_at: Date | null;
    status_code: number | null;
    error_class: string | null;
    error_message: string | null;
  }>(
    `WITH recent AS (
       SELECT a.delivery_id, a.number, a.started_at, a.status_code, a.error_class, a.error_message
         FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
        WHERE d.operator_id = $1 AND d.endpoint_id = $2 AND d.updated_at >= $3 AND a.started_at >= $3
     ), last_failure AS (
       SELECT * FROM recent WHERE error_message IS NOT NULL ORDER BY started_at DESC LIMIT 1
     )
     SELECT (SELECT count(*) FROM recent)::int AS attempts,
            (SELECT count(*) FROM recent WHERE error_message IS NULL)::int AS succeeded,
            f.delivery_id, f.number, f.started_at, f.status_code, f.error_class, f.error_message
       FROM (SELECT 1) one LEFT JOIN last_failure f ON true`,
    [operatorId, endpointId, since],
  );
  const r = rows[0]!;
  return {
    attempts: r.attempts,
    succeeded: r.succeeded,
    lastFailure:
      r.delivery_id && r.started_at && r.number !== null
        ? {
            deliveryId: r.delivery_id,
            number: r.number,
            at: r.started_at,
            statusCode: r.status_code,
            error: `${r.error_class ?? 'error'}: ${r.error_message}`,
          }
        : null,
  };
}
