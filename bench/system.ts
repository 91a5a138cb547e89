import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { randomBase62 } from '../src/db/new-id.js';
import { generateEncryptionKey } from '../src/delivery/secrets.js';
import { ensureTemporalCli } from '../src/main/host/cli.js';
import { freePort, startDevServer, stopProcess } from '../src/main/host/dev-server.js';
import { bundleWorkflows } from '../src/main/host/worker.js';
import type { Cleanup } from './cleanup.js';
import { sleep } from './stats.js';

/**
 * The system under test. By default the bench starts all of it and removes it at the end: its own Temporal
 * dev server (free ports, SQLite in a temp dir, the project's WAL pragmas), a throwaway PostgreSQL
 * database (created, migrated, dropped), and the real entry points as child processes (the API with its
 * embedded worker, and the worker), each preloading the round-trip counter (bench/pg-count-hook.mjs).
 * Any part can be an already running one instead: --temporal-address, --database-url, --api-url.
 */
export interface SystemOptions {
  tmpDir: string;
  temporalAddress?: string | undefined;
  databaseUrl?: string | undefined;
  apiUrl?: string | undefined;
  adminToken?: string | undefined;
  taskQueue?: string | undefined;
  pids?: Record<string, number>;
  /** Extra environment for the API and worker. */
  extraEnv?: Record<string, string>;
  /**
   * API processes behind the one port (node:cluster, bench/api-cluster.ts); 1 runs src/main/api.ts itself.
   * Their CPU is measured as the role `api` (each copy tracked as `api#<n>`, folded into it).
   */
  apiProcesses?: number;
  /** Directory for V8 CPU profiles of the API and worker; none when unset. */
  profileDir?: string | undefined;
  say: (line: string) => void;
}

export interface RunningSystem {
  apiUrl: string;
  adminToken: string;
  temporalAddress: string;
  namespace: string;
  /** Null when the bench cannot see the database (an external API without --database-url). */
  databaseUrl: string | null;
  databaseName: string | null;
  managed: { temporal: boolean; database: boolean; api: boolean };
  temporalCli: string | null;
  /** The dev server's SQLite file when the bench started it (its -wal beside it), else null. */
  temporalDbFile: string | null;
  /** Processes to measure, by role. */
  pids: Record<string, number>;
  /** Processes carrying the round-trip counter, by role. */
  counted: Record<string, ChildProcess>;
  logs: Record<string, string>;
}

const root = join(import.meta.dirname, '..');

export async function startSystem(o: SystemOptions, cleanup: Cleanup): Promise<RunningSystem> {
  const pids: Record<string, number> = { ...o.pids };
  const logs: Record<string, string> = {};
  let temporalCli: string | null = null;
  let temporalDbFile: string | null = null;

  let temporalAddress = o.temporalAddress;
  if (!temporalAddress) {
    temporalCli = await ensureTemporalCli(o.say);
    const port = await freePort();
    logs.temporal = join(o.tmpDir, 'temporal.log');
    temporalDbFile = join(o.tmpDir, 'temporal.sqlite');
    const server = await startDevServer({
      cliPath: temporalCli,
      port,
      dbFile: temporalDbFile,
      logFile: logs.temporal,
    });
    cleanup.add('temporal dev server', () => server.stop());
    temporalAddress = server.address;
    if (server.process.pid) pids.temporal = server.process.pid;
    o.say(`Temporal dev server at ${temporalAddress}`);
  } else {
    try {
      temporalCli = await ensureTemporalCli(() => undefined);
    } catch {
      temporalCli = null;
    }
  }

  let databaseUrl = o.databaseUrl ?? null;
  let managedDb = false;
  if (!databaseUrl && !o.apiUrl) {
    const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const url = new URL(base);
    const name = `affiliate_hooks_bench_${randomBase62(10).toLowerCase()}`;
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    cleanup.add(`drop database ${name}`, () => dropDatabase(databaseUrl!));
    await migrate(databaseUrl);
    managedDb = true;
    o.say(`PostgreSQL database ${name} (migrated)`);
  }
  const databaseName = databaseUrl ? decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) : null;

  const counted: Record<string, ChildProcess> = {};
  let apiUrl = o.apiUrl;
  let adminToken = o.adminToken ?? process.env.ADMIN_TOKEN ?? '';
  if (!apiUrl) {
    adminToken = `bench-admin-${randomBase62(24)}`;
    let bundle = process.env.TEMPORAL_WORKFLOW_BUNDLE;
    if (!bundle || !existsSync(bundle)) {
      bundle = join(o.tmpDir, 'workflow-bundle.js');
      writeFileSync(bundle, await bundleWorkflows());
    }
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl!,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: o.taskQueue ?? `bench-${randomBase62(8)}`,
      TEMPORAL_WORKFLOW_BUNDLE: bundle,
      ADMIN_TOKEN: adminToken,
      SECRETS_ENCRYPTION_KEYS: generateEncryptionKey(),
      SSRF_ALLOWLIST: '127.0.0.0/8,::1/128',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      API_EMBEDDED_WORKER: 'true',
      ...o.extraEnv,
    };
    const apiProcesses = o.apiProcesses ?? 1;
    if (apiProcesses > 1) env.BENCH_API_PROCESSES = String(apiProcesses);
    for (const entry of ['worker', 'api'] as const) {
      logs[entry] = join(o.tmpDir, `${entry}.log`);
      const cluster = entry === 'api' && apiProcesses > 1;
      const script = cluster
        ? join(root, 'bench', 'api-cluster.ts')
        : join(root, 'src', 'main', `${entry}.ts`);
      const child = spawnEntry(entry, script, env, logs[entry], o.profileDir, !cluster);
      cleanup.add(`${entry} process`, () => stopProcess(child, 20_000));
      if (child.pid) pids[entry] = child.pid;
      counted[entry] = child;
    }
    try {
      await waitForReady(apiUrl, Object.values(counted), 120_000);
    } catch (err) {
      const logTails = (['api', 'worker'] as const).map((e) => `--- ${e} log ---\n${tail(logs[e]!)}`);
      throw new Error(`${(err as Error).message}\n${logTails.join('\n')}`, { cause: err });
    }
    if (apiProcesses > 1) {
      const copies = await apiCopies(counted.api!);
      // The primary only hands out connections; the copies are the tier.
      pids['api#primary'] = pids.api!;
      delete pids.api;
      copies.forEach((pid, i) => (pids[`api#${i + 1}`] = pid));
    }
    o.say(
      `API at ${apiUrl} (embedded worker on${apiProcesses > 1 ? `, ${apiProcesses} processes behind the port` : ''}), worker process running`,
    );
  } else if (!adminToken) {
    throw new Error('--api-url needs --admin-token (or ADMIN_TOKEN) to create the bench operators');
  }

  return {
    apiUrl,
    adminToken,
    temporalAddress,
    namespace: 'default',
    databaseUrl,
    databaseName,
    managed: { temporal: !o.temporalAddress, database: managedDb, api: !o.apiUrl },
    temporalCli,
    temporalDbFile,
    pids,
    counted,
    logs,
  };
}

/** The pids of the API copies a cluster primary (bench/api-cluster.ts) forked. */
function apiCopies(primary: ChildProcess): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API cluster did not name its processes')), 10_000);
    const onMessage = (m: { type?: string; pids?: number[] }) => {
      if (m?.type !== 'bench:api-pids') return;
      clearTimeout(timer);
      primary.off('message', onMessage);
      resolve(m.pids!);
    };
    primary.on('message', onMessage);
    primary.send({ type: 'bench:api-pids' });
  });
}

function spawnEntry(
  entry: 'api' | 'worker',
  script: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  profileDir: string | undefined,
  /** False for the cluster primary: it sums its copies' counts itself. */
  countHook = true,
): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      // One file per thread (main, workflow thread, tsx's loader thread): the main thread's is the largest.
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, entry)] : []),
      // Diagnostic flags NODE_OPTIONS refuses (e.g. `--trace-gc`, whose lines go to the process's log).
      ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      ...(countHook ? ['--import', join(root, 'bench', 'pg-count-hook.mjs')] : []),
      script,
    ],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

async function waitForReady(apiUrl: string, children: ChildProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead)
      throw new Error(`a system process exited (${dead.exitCode ?? dead.signalCode}) before it was ready`);
    try {
      if ((await fetch(`${apiUrl}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API at ${apiUrl} did not become ready`);
    await sleep(300);
  }
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The last lines of a log file, for an error report. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
