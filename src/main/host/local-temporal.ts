import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureTemporalCli } from './cli.js';
import { startDevServer } from './dev-server.js';
import { conventionalPorts } from './pg-temporal-config.js';
import { startPgTemporal } from './pg-temporal.js';

/**
 * The Temporal server `npm run dev` and `npm run temporal` start on this machine, in one of two modes:
 *
 *   dev       the CLI's dev server: SQLite in .data/temporal.sqlite, Web UI built in (the default)
 *   postgres  the full server on the local PostgreSQL (databases `temporal` and `temporal_visibility`),
 *             the Web UI server beside it, and `npm run temporal:setup` for the namespace and search
 *             attributes: the shape of docker-compose.yml and of a real cluster, without Docker
 */
export type TemporalMode = 'dev' | 'postgres';

/** `--temporal=postgres` (or `--temporal postgres`) among the arguments; `dev` otherwise. */
export function temporalModeFrom(argv: string[]): TemporalMode {
  const at = argv.findIndex((a) => a === '--temporal' || a.startsWith('--temporal='));
  if (at < 0) return 'dev';
  const value = argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  if (value === 'dev' || value === 'postgres') return value;
  throw new Error(`--temporal must be dev or postgres, not ${value ?? 'nothing'}`);
}

export const root = join(import.meta.dirname, '..', '..', '..');
export const DYNAMIC_CONFIG_FILE = join(root, 'deploy', 'temporal', 'dynamicconfig.yaml');

export interface LocalTemporalOptions {
  mode: TemporalMode;
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  uiUrl: string;
  metricsPort?: number;
  /** DATABASE_URL: in postgres mode Temporal uses the same PostgreSQL server and login. */
  databaseUrl: string;
  dataDir: string;
  say: (line: string) => void;
}

export interface LocalTemporal {
  address: string;
  /** One line for the console: where its state and log are. */
  description: string;
  stop(): Promise<void>;
}

/** Starts the server of `mode` and, in postgres mode, registers the namespace and search attributes. */
export async function startLocalTemporal(o: LocalTemporalOptions): Promise<LocalTemporal> {
  const [host, portText] = o.address.split(':');
  const ui = new URL(o.uiUrl);
  if (o.mode === 'dev') {
    const server = await startDevServer({
      cliPath: await ensureTemporalCli(o.say),
      ip: host,
      port: Number(portText),
      uiPort: Number(ui.port || 8233),
      dbFile: join(o.dataDir, 'temporal.sqlite'),
      namespace: o.namespace,
      logFile: join(o.dataDir, 'temporal.log'),
      metricsPort: o.metricsPort,
      onProgress: o.say,
    });
    return {
      address: server.address,
      description: `Temporal dev server at ${server.address} (state in .data/temporal.sqlite, log in .data/temporal.log)`,
      stop: () => server.stop(),
    };
  }
  const stateDir = join(o.dataDir, 'temporal-postgres');
  const server = await startPgTemporal({
    pgUrl: o.databaseUrl,
    database: 'temporal',
    ports: conventionalPorts(Number(portText), o.metricsPort ?? 8000),
    stateDir,
    dynamicConfigFile: DYNAMIC_CONFIG_FILE,
    ui: { host: ui.hostname, port: Number(ui.port || 8233), namespace: o.namespace },
    say: o.say,
  });
  try {
    await runTemporalSetup({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: o.namespace }, o.say);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    address: server.address,
    description:
      `Temporal server on PostgreSQL at ${server.address} (databases temporal and temporal_visibility, ` +
      `metrics ${server.metricsUrl}, log in ${server.logFile})`,
    stop: () => server.stop(),
  };
}

/**
 * `npm run temporal:setup` against the server: the namespace and the search attributes, as on any cluster
 * (the compose stack's temporal-setup job runs the same entry point).
 */
export async function runTemporalSetup(
  env: Record<string, string>,
  say: (line: string) => void,
): Promise<void> {
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'main', 'temporal-setup.ts')],
      { cwd: root, env: { ...process.env, ENV_FILE: 'none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (d: Buffer) => output.push(String(d)));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  const lines = output.join('').trimEnd().split('\n');
  if (code !== 0) throw new Error(`temporal:setup failed:\n${lines.join('\n')}`);
  say(`temporal:setup: ${lines.at(-1)}`);
}
