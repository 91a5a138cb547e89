import type { Queryable } from './pool.js';

/**
 * The delivery backlog for the metrics gauges: deliveries waiting to retry, and dead letters (failed).
 * Counts only; one statement over the partial index deliveries_backlog (migration 016).
 */
export async function deliveryBacklog(db: Queryable): Promise<{ retrying: number; failed: number }> {
  const { rows } = await db.query<{ retrying: string; failed: string }>(
    `SELECT count(*) FILTER (WHERE status = 'retrying') AS retrying,
            count(*) FILTER (WHERE status = 'failed') AS failed
       FROM deliveries
      WHERE status IN ('retrying', 'failed')`,
  );
  return { retrying: Number(rows[0]!.retrying), failed: Number(rows[0]!.failed) };
}
