import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { stopProcess, waitReady } from './dev-server.js';
import { ensureGoTool, type GoTool } from './go-binary.js';
import {
  MAX_MEMBERSHIP_PORT,
  pgTargetFrom,
  schemaSteps,
  SERVER_PORT_KEYS,
  serverConfig,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
  uiServerConfig,
  type FrontendTls,
  type PgTarget,
  type ServerPorts,
} from './pg-temporal-config.js';
import type { TemporalConnectOptions } from '../../temporal/connection-options.js';

/**
 * The full Temporal server (frontend, history, matching, worker) on PostgreSQL, without Docker: the
 * server and its SQL tool built from go.temporal.io/server, and the Web UI server that the Temporal CLI
 * embeds, run as a program of its own against the server's frontend. State lives in PostgreSQL (two
 * databases); the generated configuration and the logs live in `stateDir`.
 */

export const TEMPORAL_SERVER: GoTool = {
  label: 'Temporal server',
  envVar: 'TEMPORAL_SERVER',
  pathNames: ['temporal-server'],
  goPackage: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
  goBinName: 'server',
  otherWays: [
    `a release archive: https://github.com/temporalio/temporal/releases/tag/${TEMPORAL_SERVER_VERSION} (temporal-server, on PATH)`,
  ],
};

export const TEMPORAL_SQL_TOOL: GoTool = {
  label: 'Temporal SQL tool',
  envVar: 'TEMPORAL_SQL_TOOL',
  pathNames: ['temporal-sql-tool'],
  goPackage: 'go.temporal.io/server/cmd/tools/sql',
  version: TEMPORAL_SERVER_VERSION,
  goBinName: 'sql',
  otherWays: [
    `a release archive: https://github.com/temporalio/temporal/releases/tag/${TEMPORAL_SERVER_VERSION} (temporal-sql-tool, on PATH)`,
  ],
};

/** Its `go install` name, `server`, is the Temporal server's too: it gets a folder of its own. */
export const TEMPORAL_UI_SERVER: GoTool = {
  label: 'Temporal Web UI server',
  envVar: 'TEMPORAL_UI_SERVER',
  pathNames: ['temporal-ui-server'],
  goPackage: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: TEMPORAL_UI_VERSION,
  goBinName: 'server',
  goBinSubdir: 'temporal-ui-server',
  otherWays: [
    `a release archive: https://github.com/temporalio/ui-server/releases/tag/${TEMPORAL_UI_VERSION} (ui-server, on PATH as temporal-ui-server)`,
  ],
};

export interface PgTemporalOptions {
  /** The PostgreSQL server and login (a URL such as DATABASE_URL; its database name is not used). */
  pgUrl: string;
  /** Temporal's main database; the visibility database is `<database>_visibility`. */
  database: string;
  ports: ServerPorts;
  /** Generated configuration and logs. */
  stateDir: string;
  /** deploy/temporal/dynamicconfig.yaml: the compose stack's dynamic config. */
  dynamicConfigFile: string;
  /** The Web UI on this host and port; omit for none. */
  ui?: { host: string; port: number; namespace: string };
  say?: (line: string) => void;
  /** Longest wait for readiness while the server works (see dev-server.ts). */
  readyTimeoutMs?: number;
  /**
   * TLS on the frontend, and how this process connects to judge readiness (with mutual TLS: a client
   * certificate the server's client CA signed). The Web UI server is not configured for it: omit `ui`.
   */
  tls?: { server: FrontendTls; readiness: Omit<TemporalConnectOptions, 'address'> };
}

export interface PgTemporal {
  address: string;
  uiUrl: string | null;
  metricsUrl: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Runs the SQL tool's steps; the password travels in its environment, never on a command line. */
async function prepareDatabases(sqlTool: string, target: PgTarget, logFile: string): Promise<void> {
  for (const args of schemaSteps(target)) {
    const out = openSync(logFile, 'a');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(sqlTool, args, {
        stdio: ['ignore', out, out],
        env: { ...process.env, SQL_PASSWORD: target.password },
      });
      child.on('error', reject);
      child.on('exit', resolve);
    }).finally(() => closeSync(out));
    if (code !== 0) {
      const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(
        `temporal-sql-tool ${args.slice(-3).join(' ')} failed (exit ${code}). Last lines of ${logFile}:\n${tail}\n` +
          `What to do: check that PostgreSQL at ${target.host}:${target.port} accepts ${target.user} ` +
          'with the right to create databases (DATABASE_URL).',
      );
    }
  }
}

function startLogged(path: string, args: string[], logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(path, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  return child;
}

/** Whether this process can listen on 127.0.0.1:port right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Free ports for every service, for a throwaway server (tests). All below 32768: the server records its
 * membership ports in a smallint column, and the kernel hands out ephemeral ports above that.
 */
export async function freeServerPorts(): Promise<ServerPorts> {
  const chosen = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * (MAX_MEMBERSHIP_PORT - 20_000));
      if (!chosen.has(port) && (await bindable(port))) {
        chosen.add(port);
        return port;
      }
    }
  };
  const ports = {} as Record<keyof ServerPorts, number>;
  for (const key of SERVER_PORT_KEYS) ports[key] = await pick();
  return ports;
}

/** True when something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Refuses ports another program holds: readiness is judged by the frontend answering, and another
 * Temporal server on the same port would answer in this one's place.
 */
async function assertPortsFree(ports: number[]): Promise<void> {
  const taken: number[] = [];
  for (const port of ports) if (await listening(port)) taken.push(port);
  if (taken.length)
    throw new Error(
      `ports ${taken.join(', ')} on 127.0.0.1 are taken by another program (is a Temporal server already ` +
        'running? `npm run dev` uses one that answers at TEMPORAL_ADDRESS); stop it or choose other ports.',
    );
}

/** Polls the UI's health route until it answers; fails when its process exits. */
async function waitForUi(child: ChildProcess, url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Web UI server exited (log: ${logFile})`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the Web UI at ${url} did not answer (log: ${logFile})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Finds or installs the programs, creates and migrates the databases, writes the configuration, starts
 * the server (and the UI) and resolves once the frontend serves. The namespace and the search attributes
 * are `npm run temporal:setup`'s job, as on any other cluster.
 */
export async function startPgTemporal(o: PgTemporalOptions): Promise<PgTemporal> {
  const say = o.say ?? (() => undefined);
  const serverBin = await ensureGoTool(TEMPORAL_SERVER, say);
  const sqlTool = await ensureGoTool(TEMPORAL_SQL_TOOL, say);
  const uiBin = o.ui ? await ensureGoTool(TEMPORAL_UI_SERVER, say) : null;
  await assertPortsFree([...Object.values(o.ports), ...(o.ui ? [o.ui.port] : [])]);
  mkdirSync(join(o.stateDir, 'config'), { recursive: true });
  const target = pgTargetFrom(o.pgUrl, o.database);
  await prepareDatabases(sqlTool, target, join(o.stateDir, 'temporal-schema.log'));
  say(`databases ${o.database} and ${o.database}_visibility are at the ${TEMPORAL_SERVER_VERSION} schema`);

  if (o.tls && o.ui) throw new Error('the Web UI server is not configured for a frontend behind TLS');
  const config = serverConfig({
    target,
    ports: o.ports,
    dynamicConfigFile: o.dynamicConfigFile,
    tls: o.tls?.server,
  });
  // 0600: it holds the PostgreSQL password.
  writeFileSync(join(o.stateDir, 'config', 'affiliate-hooks.yaml'), JSON.stringify(config, null, 2), {
    mode: 0o600,
  });
  const logFile = join(o.stateDir, 'temporal-server.log');
  const address = `127.0.0.1:${o.ports.frontend}`;
  const args = ['--root', o.stateDir, '--config', 'config', '--env', 'affiliate-hooks', '--allow-no-auth'];
  const server = startLogged(serverBin, [...args, 'start'], logFile);
  const children = [server];
  const stop = async () => {
    for (const child of children.reverse()) await stopProcess(child);
  };
  try {
    await waitReady(server, address, {
      namespace: 'temporal-system',
      logFile,
      connect: o.tls?.readiness,
      readyTimeoutMs: o.readyTimeoutMs,
      onProgress: say,
      advice:
        `What to do: run the same command again; if a port is taken, stop what listens on it (the server uses ` +
        `${Object.values(o.ports).join(', ')}); the configuration is ${join(o.stateDir, 'config')}.`,
    });
    if (server.exitCode !== null) throw new Error(`the Temporal server exited (log: ${logFile})`);
    let uiUrl: string | null = null;
    if (o.ui && uiBin) {
      const uiDir = join(o.stateDir, 'ui-config');
      mkdirSync(uiDir, { recursive: true });
      const ui = uiServerConfig({ frontend: address, ...o.ui });
      writeFileSync(join(uiDir, 'affiliate-hooks.yaml'), JSON.stringify(ui, null, 2));
      const uiLog = join(o.stateDir, 'temporal-ui.log');
      const uiArgs = ['--root', o.stateDir, '--config', 'ui-config', '--env', 'affiliate-hooks', 'start'];
      const uiProcess = startLogged(uiBin, uiArgs, uiLog);
      children.push(uiProcess);
      uiUrl = `http://${o.ui.host}:${o.ui.port}`;
      await waitForUi(uiProcess, uiUrl, uiLog);
    }
    return { address, uiUrl, metricsUrl: `http://127.0.0.1:${o.ports.metrics}/metrics`, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
