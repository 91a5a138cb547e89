import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * Plain ordered SQL migrations: `NNN_name.sql`, each applied once, in its own transaction unless its first
 * line is `-- migrate: no-transaction`. Such a file runs statement by statement (each ends with `;` at the
 * end of a line), for what PostgreSQL refuses inside a transaction: `CREATE INDEX CONCURRENTLY`, which
 * builds an index on a large table without blocking writes (intake keeps going). Its statements must be
 * safe to run again (`IF NOT EXISTS`); an index a failed concurrent build left INVALID is dropped first.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const LOCK_KEY = 7_233_001; // pg_advisory_lock key: one migrator at a time

export interface MigrationResult {
  created: boolean;
  applied: string[];
  alreadyApplied: string[];
}

export interface MigrateOptions {
  dir?: string;
  /** Told which migrations will run (possibly none), before the first one starts. */
  onPlan?: (pending: string[]) => void;
}

export const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\b/;

/** Another migrator holds the lock: this one refuses rather than run beside it or queue behind it. */
export class MigrationInProgressError extends Error {}

/** Creates the database named in the URL when it is missing, connecting to `postgres` to do so. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  // The server going away must fail the query in progress, not crash the process (unhandled 'error').
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Applies every migration not yet applied; refuses to run if an applied file was edited. */
export async function migrate(
  databaseUrl: string,
  opts: string | MigrateOptions = {},
): Promise<MigrationResult> {
  const { dir = MIGRATIONS_DIR, onPlan } = typeof opts === 'string' ? { dir: opts } : opts;
  const created = await ensureDatabase(databaseUrl);
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'affiliate-hooks migrate',
  });
  client.on('error', () => undefined);
  await client.connect();
  let locked = false;
  try {
    locked = await tryLock(client);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.name, r.checksum]));
    const pending: { file: string; sql: string; checksum: string }[] = [];
    const alreadyApplied: string[] = [];
    for (const file of files) {
      const sql = await readFile(`${dir}/${file}`, 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous === undefined) pending.push({ file, sql, checksum });
      else if (previous !== checksum)
        throw new Error(`migration ${file} was changed after it was applied; add a new migration instead`);
      else alreadyApplied.push(file);
    }
    onPlan?.(pending.map((p) => p.file));
    const applied: string[] = [];
    for (const m of pending) {
      try {
        if (NO_TRANSACTION.test(m.sql)) await applyWithoutTransaction(client, m);
        else await applyInTransaction(client, m);
      } catch (err) {
        throw new Error(`migration ${m.file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.file);
    }
    return { created, applied, alreadyApplied };
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Takes the migrator lock, or refuses naming who holds it. */
async function tryLock(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
  if (rows[0]?.ok) return true;
  const holder = await client.query<{ pid: number; app: string; since: string }>(
    `SELECT a.pid, a.application_name AS app, a.backend_start::text AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted AND l.database = (
              SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_KEY],
  );
  const h = holder.rows[0];
  throw new MigrationInProgressError(
    'another migration is running on this database' +
      (h ? ` (PostgreSQL backend ${h.pid}, "${h.app}", connected since ${h.since})` : '') +
      ': this one did not start. Run it again once that one has finished.',
  );
}

async function applyInTransaction(client: pg.Client, m: { file: string; sql: string; checksum: string }) {
  await client.query('BEGIN');
  try {
    await client.query(m.sql);
    await record(client, m);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

async function applyWithoutTransaction(
  client: pg.Client,
  m: { file: string; sql: string; checksum: string },
) {
  for (const statement of statementsOf(m.sql)) {
    const index =
      /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[\w.]+"?)/i.exec(
        statement,
      )?.[1];
    if (index) await dropIfInvalid(client, index.replaceAll('"', ''));
    await client.query(statement);
  }
  await record(client, m);
}

/** The statements of a no-transaction file: each ends with `;` at the end of a line; comments dropped. */
export function statementsOf(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) =>
      s
        .split('\n')
        .filter((line) => !/^\s*--/.test(line))
        .join('\n')
        .trim(),
    )
    .filter(Boolean);
}

/** A concurrent build that failed leaves its index INVALID; `IF NOT EXISTS` would then skip it for ever. */
async function dropIfInvalid(client: pg.Client, name: string) {
  const { rows } = await client.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.oid = to_regclass($1)`,
    [name],
  );
  if (rows[0] && !rows[0].valid) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}

async function record(client: pg.Client, m: { file: string; checksum: string }) {
  await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [m.file, m.checksum]);
}
