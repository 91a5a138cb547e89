import type { Pool } from './pool.js';

/** Resolves when PostgreSQL answers a trivial query (the API's readiness check). */
export async function pingDatabase(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
