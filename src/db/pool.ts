import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'>;

/** numeric stays a string end to end: money is never a float. */
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => v);

export function createPool(databaseUrl: string, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'affiliate-hooks',
  });
  // An idle client losing its server (restart, failover) must not crash the process.
  pool.on('error', () => undefined);
  // Nor a checked-out one. A client handed to a waiting `pool.connect()` reaches its holder through a
  // promise, a few microtasks later; when the server's goodbye came in the same read as the reply that
  // freed the client, it is emitted before the holder can listen. So every client listens from birth: the
  // error still reaches the holder's next query (the client is no longer queryable), and the pool discards
  // such a client when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export interface TransactionOptions {
  /** Runs in all when the connection is lost before COMMIT is sent (default 3). */
  attempts?: number;
}

/**
 * Runs fn in a transaction; rolls back on any error.
 *
 * A connection the server closes while it is checked out (a restart, a failover, `pg_terminate_backend`)
 * is caught and discarded, never left to crash the process with an unhandled `error` event. If it is lost
 * before COMMIT was sent, the server has rolled the transaction back, so fn runs again on a fresh
 * connection (fn must touch nothing but `client`). Lost during COMMIT, the outcome is unknown: the error
 * is thrown for the caller's own idempotent retry to settle.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const run = await runTransaction(pool, fn);
    if (run.ok) return run.value;
    if (!run.retryable || attempt >= attempts) throw run.error;
    await sleep(50 * 2 ** attempt);
  }
}

type TransactionRun<T> = { ok: true; value: T } | { ok: false; error: unknown; retryable: boolean };

async function runTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
): Promise<TransactionRun<T>> {
  // A failed connect is not retried here: the server is away, and the caller's retry (or 503) decides.
  const client = await pool.connect();
  let lost: Error | undefined;
  // Notes the server going away while the client is out (createPool's own listener only keeps the
  // process alive), so the client is released as broken and the work retried.
  const onError = (err: Error) => {
    lost ??= err;
  };
  client.on('error', onError);
  let committing = false;
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    // Lost already: COMMIT would not be sent, so the transaction is certainly rolled back.
    if (lost) throw lost;
    committing = true;
    await client.query('COMMIT');
    return { ok: true, value };
  } catch (error) {
    const broken = lost !== undefined || isDatabaseUnavailable(error);
    if (!broken) await client.query('ROLLBACK').catch(() => undefined);
    else lost ??= error instanceof Error ? error : new Error(String(error));
    return { ok: false, error, retryable: broken && !committing };
  } finally {
    client.removeListener('error', onError);
    // Released with the error, the pool destroys the connection instead of handing it out again.
    client.release(lost);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** True when the error means PostgreSQL could not be reached, as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  // "not currently accepting connections": the database is closed to connections (ALLOW_CONNECTIONS false).
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|not queryable|not currently accepting connections/i.test(
    err.message,
  );
}
