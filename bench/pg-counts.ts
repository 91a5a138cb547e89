import type { ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { round, sleep } from './stats.js';

/**
 * PostgreSQL round trips per event, two ways:
 *
 * 1. exact: the API and worker processes the bench starts load bench/pg-count-hook.mjs, which counts every
 *    node-postgres query (a round trip each) and transaction per process; the bench reads the counters over
 *    IPC before and after a phase.
 * 2. cross-check: pg_stat_database.xact_commit + xact_rollback of the bench database (transactions, not
 *    round trips: BEGIN ... COMMIT is one), read from a connection to another database so the reading
 *    does not count itself. Backends publish these counters when they go idle, at most every second and at
 *    the latest 10 s after their last transaction, so both readings wait for that.
 *
 * pg_stat_statements would give statement counts without a hook, but it must be in
 * shared_preload_libraries, which needs a PostgreSQL restart (see BENCHMARKS.md).
 */
export interface PgCounts {
  queries: number;
  transactions: number;
  byStatement: Record<string, number>;
}

export interface PgSnapshot {
  processes: Record<string, PgCounts>;
  xacts: number | null;
}

/** Statements that run on a timer whatever the load (the reconciler's scan), excluded per event. */
export const BACKGROUND_STATEMENTS = [/workflow_started_at IS NULL AND received_at/];

/** Stats become visible up to 10 s after a backend's last transaction (PGSTAT_IDLE_INTERVAL). */
export const PG_STAT_FLUSH_MS = 11_000;

let seq = 0;

export async function readHookCounts(child: ChildProcess, timeoutMs = 3_000): Promise<PgCounts | null> {
  if (!child.connected) return null;
  const id = ++seq;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, timeoutMs);
    const onMessage = (m: { type?: string; seq?: number; counts?: PgCounts }) => {
      if (m?.type === 'bench:pg-counts' && m.seq === id) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m.counts ?? null);
      }
    };
    child.on('message', onMessage);
    child.send({ type: 'bench:pg-counts', seq: id }, (err) => {
      if (err) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(null);
      }
    });
  });
}

export async function readXacts(monitor: pg.Client | null, databaseName: string | null) {
  if (!monitor || !databaseName) return null;
  const { rows } = await monitor.query<{ n: string }>(
    'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
    [databaseName],
  );
  return rows[0] ? Number(rows[0].n) : null;
}

export async function pgSnapshot(
  children: Record<string, ChildProcess>,
  monitor: pg.Client | null,
  databaseName: string | null,
): Promise<PgSnapshot> {
  const processes: Record<string, PgCounts> = {};
  for (const [role, child] of Object.entries(children)) {
    const counts = await readHookCounts(child);
    if (counts) processes[role] = structuredClone(counts);
  }
  return { processes, xacts: await readXacts(monitor, databaseName).catch(() => null) };
}

export interface PgPerEvent {
  events: number;
  roundTripsPerEvent: number | null;
  transactionsPerEvent: number | null;
  /** From pg_stat_database, when measured with the flush wait. */
  xactsPerEvent: number | null;
  background: { roundTrips: number; transactions: number };
  byProcess: Record<string, number>;
  /** Round trips per event by statement (first 90 characters), largest first. */
  byStatement: { statement: string; perEvent: number }[];
}

export function perEvent(before: PgSnapshot, after: PgSnapshot, events: number): PgPerEvent {
  let queries = 0;
  let transactions = 0;
  let background = 0;
  const byProcess: Record<string, number> = {};
  const byStatement = new Map<string, number>();
  let measured = false;
  for (const [role, a] of Object.entries(after.processes)) {
    const b = before.processes[role];
    if (!b) continue;
    measured = true;
    let roleQueries = 0;
    for (const [statement, n] of Object.entries(a.byStatement)) {
      const delta = n - (b.byStatement[statement] ?? 0);
      if (!delta) continue;
      if (BACKGROUND_STATEMENTS.some((re) => re.test(statement))) {
        background += delta;
        continue;
      }
      roleQueries += delta;
      byStatement.set(statement, (byStatement.get(statement) ?? 0) + delta);
    }
    queries += roleQueries;
    byProcess[role] = round(roleQueries / events, 2);
    // The background scan runs outside transactions: one transaction each.
    transactions += a.transactions - b.transactions;
  }
  transactions -= background;
  const xacts =
    after.xacts !== null && before.xacts !== null ? after.xacts - before.xacts - background : null;
  return {
    events,
    roundTripsPerEvent: measured ? round(queries / events, 2) : null,
    transactionsPerEvent: measured ? round(transactions / events, 2) : null,
    xactsPerEvent: xacts === null ? null : round(xacts / events, 2),
    background: { roundTrips: background, transactions: background },
    byProcess,
    byStatement: [...byStatement]
      .sort((x, y) => y[1] - x[1])
      .map(([statement, n]) => ({ statement, perEvent: round(n / events, 2) })),
  };
}

export async function waitForStatsFlush(ms = PG_STAT_FLUSH_MS): Promise<void> {
  await sleep(ms);
}
