import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../../domain/search-attributes.js';
import type { TemporalConnectOptions } from '../../temporal/connection-options.js';

/**
 * Runs `temporal server start-dev`: SQLite in a file (state survives restarts) with WAL and
 * synchronous=normal (measured here: 13 -> 34 one-activity workflows/s), the project's search attributes
 * registered, and the Web UI unless headless.
 */
export interface DevServerOptions {
  cliPath: string;
  ip?: string;
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** The server's own Prometheus `/metrics` port (on `ip`); omit and Temporal picks a random one. */
  metricsPort?: number;
  dbFile: string;
  namespace?: string;
  /** Server output goes here (a file); default: discarded. */
  logFile?: string;
  /**
   * The longest wait for readiness however busy the server is (default `READY_LIMIT_MS`); it gives up
   * sooner only when the server stops making progress (neither CPU time nor log output for `stallMs`).
   */
  readyTimeoutMs?: number;
  stallMs?: number;
  /** Told every 15 s while the server is not ready yet (a first start on a busy machine takes a while). */
  onProgress?: (line: string) => void;
}

/**
 * A brand-new database file, a busy machine or a first start after building the CLI can take minutes:
 * readiness waits up to 10 minutes while the server makes progress, and 2 minutes without any.
 */
export const READY_LIMIT_MS = 600_000;
export const READY_STALL_MS = 120_000;

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function devServerArgs(o: DevServerOptions): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    o.ip ?? '127.0.0.1',
    '--port',
    String(o.port),
    '--db-filename',
    o.dbFile,
    '--namespace',
    o.namespace ?? 'default',
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'warn',
    // Operators pause, reset and re-time stuck activities from the CLI and UI.
    '--dynamic-config-value',
    'frontend.activityAPIsEnabled=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
  for (const flag of searchAttributeFlags()) args.push('--search-attribute', flag);
  if (o.metricsPort !== undefined) args.push('--metrics-port', String(o.metricsPort));
  if (o.uiPort !== undefined) args.push('--ui-ip', o.ip ?? '127.0.0.1', '--ui-port', String(o.uiPort));
  else args.push('--headless');
  return args;
}

/** Starts the dev server and resolves once its namespace answers. */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(o.dbFile), { recursive: true });
  const out = o.logFile ? openSync(o.logFile, 'a') : 'ignore';
  const child = spawn(o.cliPath, devServerArgs(o), { stdio: ['ignore', out, out], detached: false });
  if (typeof out === 'number') closeSync(out);
  const address = `${o.ip ?? '127.0.0.1'}:${o.port}`;
  try {
    await waitReady(child, address, { ...o, advice: devServerAdvice(address, o.dbFile) });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: o.uiPort !== undefined ? `http://${o.ip ?? '127.0.0.1'}:${o.uiPort}` : null,
    process: child,
    stop: () => stopProcess(child),
  };
}

/** How long and on what a wait for a server's readiness runs, and what to tell the user if it fails. */
export interface ReadyWait {
  /** The namespace whose description means ready (default `default`). */
  namespace?: string;
  logFile?: string;
  readyTimeoutMs?: number;
  stallMs?: number;
  onProgress?: (line: string) => void;
  /** "What to do: ..." when the server is not ready. */
  advice: string;
  /** How to connect when it takes more than the address (a server behind TLS). */
  connect?: Omit<TemporalConnectOptions, 'address'>;
}

function devServerAdvice(address: string, dbFile: string): string {
  return (
    'What to do: run the same command again (the database file is kept, a second start is quicker); ' +
    `if the port is taken, stop what listens on ${address} or set TEMPORAL_ADDRESS; if the database ` +
    `file is damaged, delete ${dbFile}; or run a Temporal server yourself and point TEMPORAL_ADDRESS at it ` +
    '(README, "Troubleshooting").'
  );
}

/**
 * Polls the namespace while the server makes progress: its CPU time (Linux /proc) or its log grows. Fails
 * when it exits, stalls for `stallMs`, or passes `readyTimeoutMs`, with the log's last lines and what to do.
 */
export async function waitReady(child: ChildProcess, address: string, o: ReadyWait): Promise<void> {
  let exited: number | string | null | undefined;
  child.on('exit', (code, signal) => {
    exited = code ?? signal;
  });
  const started = Date.now();
  const limit = o.readyTimeoutMs ?? READY_LIMIT_MS;
  const stall = o.stallMs ?? READY_STALL_MS;
  let mark = progressMark(child.pid, o.logFile);
  let lastProgress = started;
  let lastTold = started;
  for (;;) {
    if (exited !== undefined) throw notReady(`exited with ${exited} before it was ready`, address, o);
    if (await namespaceReady(address, o.namespace ?? 'default', o.connect)) return;
    const now = Date.now();
    const next = progressMark(child.pid, o.logFile);
    if (next !== mark) {
      mark = next;
      lastProgress = now;
    }
    const waited = Math.round((now - started) / 1000);
    if (now - started > limit) throw notReady(`was not ready after ${waited} s`, address, o);
    if (now - lastProgress > stall)
      throw notReady(`made no progress for ${Math.round(stall / 1000)} s (${waited} s in all)`, address, o);
    if (o.onProgress && now - lastTold >= 15_000) {
      lastTold = now;
      o.onProgress(`still waiting for the Temporal server at ${address} (${waited} s; it is working)`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** CPU ticks of the process and the log's size: either changing means the server is still working. */
function progressMark(pid: number | undefined, logFile: string | undefined): string {
  let ticks = '';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = `${fields[11]}+${fields[12]}`;
  } catch {
    // Not Linux, or gone: the log alone tells.
  }
  let size = '';
  try {
    if (logFile) size = String(statSync(logFile).size);
  } catch {
    // No log yet.
  }
  return `${ticks}/${size}`;
}

function notReady(what: string, address: string, o: ReadyWait): Error {
  const tail = o.logFile ? logTail(o.logFile) : '';
  return new Error(
    [
      `the Temporal server at ${address} ${what}.`,
      tail ? `Last lines of its log (${o.logFile}):\n${tail}` : 'Its output was not kept (no log file).',
      o.advice,
    ].join('\n'),
  );
}

function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** True when the frontend answers for the namespace. */
export async function namespaceReady(
  address: string,
  namespace: string,
  connect: Omit<TemporalConnectOptions, 'address'> = {},
): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...connect, address, connectTimeout: 1_000 });
    await connection.withDeadline(Date.now() + 2_000, () =>
      connection!.workflowService.describeNamespace({ namespace }),
    );
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** SIGTERM, then SIGKILL if it has not exited within the grace period. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
