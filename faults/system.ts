import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { randomBase62 } from '../src/db/new-id.js';
import { generateEncryptionKey } from '../src/delivery/secrets.js';
import { ensureTemporalCli } from '../src/main/host/cli.js';
import { freePort, startDevServer, stopProcess, type DevServer } from '../src/main/host/dev-server.js';
import { bundleWorkflows } from '../src/main/host/worker.js';

/**
 * The system the fault run attacks, every part a process of its own so it can be killed: a Temporal dev
 * server on a free port with its own SQLite file, a throwaway PostgreSQL database (created, migrated,
 * dropped), the API entry point without an embedded worker (all work happens in the worker processes), and
 * the worker entry point. A supervisor starts a process again when it exits, as systemd or Kubernetes
 * would, and counts the exits nobody asked for.
 */
const root = join(import.meta.dirname, '..');

export interface Supervised {
  name: string;
  current(): ChildProcess | null;
  /** When the running process said it was ready (null until then, or when none runs). */
  readyAt(): number | null;
  /** Milliseconds from spawn to ready, for each start that got there. */
  startupMs: number[];
  /** SIGKILL the running process (an expected exit) and start a new one at once. */
  killAndRestart(): void;
  /** Exits nobody asked for (crashes): when, and how the process ended. */
  unexpectedExits: { at: number; what: string }[];
  starts: number;
  stop(): Promise<void>;
}

export interface FaultSystem {
  apiUrl: string;
  adminToken: string;
  databaseUrl: string;
  databaseName: string;
  temporalAddress: string;
  api: Supervised;
  worker: Supervised;
  /** SIGKILL the Temporal server, wait `downMs`, start it again on the same port and SQLite file. */
  restartTemporal(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultSystem(o: {
  tmpDir: string;
  logDir: string;
  say: (line: string) => void;
  /** Leave the run's database in place for a look afterwards (it is named in the output). */
  keepDatabase?: boolean;
}): Promise<FaultSystem> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: Error) => o.say(`cleanup: ${err.message}`));
    cleanups.length = 0;
  };
  try {
    const cli = await ensureTemporalCli(o.say);
    const port = await freePort();
    const dbFile = join(o.tmpDir, 'temporal.sqlite');
    const logFile = join(o.logDir, 'temporal.log');
    let server: DevServer = await startDevServer({ cliPath: cli, port, dbFile, logFile });
    cleanups.push(() => server.stop());
    o.say(`Temporal dev server at ${server.address}`);

    const base = new URL(process.env.FAULTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    const databaseName = `affiliate_hooks_faults_${randomBase62(10).toLowerCase()}`;
    const dbUrl = new URL(base);
    dbUrl.pathname = `/${databaseName}`;
    const databaseUrl = dbUrl.toString();
    if (!o.keepDatabase) cleanups.push(() => dropDatabase(base, databaseName));
    await migrate(databaseUrl);
    o.say(`PostgreSQL database ${databaseName} (migrated)`);

    const bundle = join(o.tmpDir, 'workflow-bundle.js');
    writeFileSync(bundle, await bundleWorkflows());
    const apiPort = await freePort();
    const adminToken = `faults-admin-${randomBase62(24)}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `faults-${randomBase62(8)}`,
      TEMPORAL_WORKFLOW_BUNDLE: bundle,
      ADMIN_TOKEN: adminToken,
      SECRETS_ENCRYPTION_KEYS: generateEncryptionKey(),
      SSRF_ALLOWLIST: '127.0.0.0/8,::1/128',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      API_EMBEDDED_WORKER: 'false',
      RECONCILE_GRACE: '5s',
      // The breaker is on (the product's default), on the run's compressed clock: schedules here are seconds
      // (faults/behaviours.ts), so its waits are too. With the default 30 s first probe and 1 h recheck, a
      // delivery held by an open breaker outlived its whole schedule and ended failed (seen: flaky-5xx 126
      // and throttled 88 of 134 dead-lettered, receivers that answer 200 at the third or second attempt).
      BREAKER_PROBE_INTERVAL: '1s',
      BREAKER_PROBE_MAX_INTERVAL: '2s',
      // A waiting delivery never looks again by itself within the run: every one must be woken, by the
      // probe that closes the breaker or, when that wake-up is lost with a killed worker, by the watch.
      BREAKER_RECHECK_INTERVAL: '1h',
      BREAKER_WATCH_INTERVAL: '1s',
    };
    const api = supervise('api', env, o.logDir, /api listening/);
    cleanups.push(() => api.stop());
    // At info level the worker says when it polls ("worker running"); it logs little else at that level.
    const worker = supervise('worker', { ...env, LOG_LEVEL: 'info' }, o.logDir, /worker running/);
    cleanups.push(() => worker.stop());
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitForReady(apiUrl, 120_000);
    o.say(`API at ${apiUrl} (no embedded worker), worker process running`);

    return {
      apiUrl,
      adminToken,
      databaseUrl,
      databaseName,
      temporalAddress: server.address,
      api,
      worker,
      async restartTemporal(downMs) {
        server.process.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, downMs));
        server = await startDevServer({ cliPath: cli, port, dbFile, logFile });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function supervise(
  entry: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  logDir: string,
  readyLine: RegExp,
): Supervised {
  let child: ChildProcess | null = null;
  let ready: number | null = null;
  let stopping = false;
  const expected = new WeakSet<ChildProcess>();
  const s: Supervised = {
    name: entry,
    current: () => child,
    readyAt: () => ready,
    startupMs: [],
    unexpectedExits: [],
    starts: 0,
    killAndRestart() {
      if (stopping) return;
      if (child) {
        expected.add(child);
        child.kill('SIGKILL');
      }
      start();
    },
    async stop() {
      stopping = true;
      if (child) await stopProcess(child, 15_000);
    },
  };
  const start = () => {
    s.starts += 1;
    const log = createWriteStream(join(logDir, `${entry}-${s.starts}.log`));
    const c = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout!.pipe(log);
    c.stderr!.pipe(log);
    const spawnedAt = Date.now();
    ready = null;
    const watch = (chunk: Buffer) => {
      if (child === c && ready === null && readyLine.test(chunk.toString())) {
        ready = Date.now();
        s.startupMs.push(ready - spawnedAt);
        c.stdout!.off('data', watch);
      }
    };
    c.stdout!.on('data', watch);
    c.on('exit', (code, signal) => {
      if (stopping || expected.has(c)) return;
      s.unexpectedExits.push({
        at: Date.now(),
        what: `${entry} #${s.starts} exited (${signal ?? code}) on its own`,
      });
      if (child === c) setTimeout(start, 1_000);
    });
    child = c;
  };
  start();
  return s;
}

async function waitForReady(apiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API at ${apiUrl} did not become ready`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function dropDatabase(base: URL, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * Cuts PostgreSQL for this database only, as a restart or a failover would: terminates every backend
 * connected to it, again and again for `forMs` (the server itself, shared with others, keeps running).
 * Answers how many backends were terminated.
 */
export async function cutDatabase(databaseName: string, forMs: number, everyMs = 250): Promise<number> {
  const base = process.env.FAULTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  let terminated = 0;
  try {
    const until = Date.now() + forMs;
    while (Date.now() < until) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [databaseName],
      );
      terminated += rows[0]!.n;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } finally {
    await admin.end();
  }
  return terminated;
}
