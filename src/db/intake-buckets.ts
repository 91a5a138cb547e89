import type { Queryable } from './pool.js';

/** An operator's intake limit: events per second, and how many may arrive at once. */
export interface IntakeLimit {
  perSecond: number;
  burst: number;
}

/**
 * Draws `events` from the operator's bucket (migrations/015_intake_limits.sql) in one statement: refilled
 * by the time since it was last drawn, capped at the burst, drawn only when enough is there. Answers how
 * long until it would be: 0 when admitted now.
 */
export async function drawIntake(
  db: Queryable,
  operatorId: string,
  events: number,
  limit: IntakeLimit,
): Promise<{ admitted: boolean; retryAfterSeconds: number }> {
  const { rows } = await db.query<{ admitted: boolean; available: number }>({
    name: 'intake:draw',
    text: `WITH current AS (
             SELECT least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $4::float8) AS available
               FROM intake_buckets b WHERE b.operator_id = $1
           ), drawn AS (
             INSERT INTO intake_buckets AS b (operator_id, tokens, at)
             VALUES ($1, $3::float8 - $2::float8, clock_timestamp())
             ON CONFLICT (operator_id) DO UPDATE
               SET tokens = least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $4::float8) - $2::float8,
                   at = clock_timestamp()
               WHERE least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $4::float8) >= $2::float8
             RETURNING 1
           )
           SELECT EXISTS (SELECT 1 FROM drawn) AS admitted,
                  coalesce((SELECT available FROM current), $3::float8)::float8 AS available`,
    values: [operatorId, events, limit.burst, limit.perSecond],
  });
  const r = rows[0]!;
  if (r.admitted) return { admitted: true, retryAfterSeconds: 0 };
  return {
    admitted: false,
    retryAfterSeconds: Math.max(1, Math.ceil((events - r.available) / limit.perSecond)),
  };
}
