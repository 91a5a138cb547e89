import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { testEnv } from './env.js';

const root = join(import.meta.dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once it has exited (at once if it has). */
  exited(): Promise<void>;
}

/**
 * The worker entry point (`src/main/worker.ts`) as a separate process on `taskQueue`, against the test
 * run's PostgreSQL and Temporal, so a test can kill it (SIGKILL) the way a crash or an OOM would.
 */
export function spawnWorker(taskQueue: string, extra: NodeJS.ProcessEnv = {}): WorkerProcess {
  return spawnEntry('worker', taskQueue, extra);
}

/**
 * The API entry point (`src/main/api.ts`) as a separate process listening on `port`, with its embedded
 * worker on `taskQueue` (as `npm run dev` runs it), so a test can see whether it survives a fault.
 */
export function spawnApi(taskQueue: string, port: number, extra: NodeJS.ProcessEnv = {}): WorkerProcess {
  return spawnEntry('api', taskQueue, { PORT: String(port), HOST: '127.0.0.1', ...extra });
}

function spawnEntry(entry: 'api' | 'worker', taskQueue: string, extra: NodeJS.ProcessEnv): WorkerProcess {
  const env = testEnv();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_WORKFLOW_BUNDLE: env.workflowBundle,
      ADMIN_TOKEN: env.adminToken,
      SECRETS_ENCRYPTION_KEYS: env.encryptionKeys.join(','),
      SSRF_ALLOWLIST: '127.0.0.0/8,::1/128',
      LOG_LEVEL: 'warn',
      ENV_FILE: 'none',
      // The breaker off, as in startSystem's own worker unless a test asks: these tests count what each
      // delivery's schedule does, and an open breaker (30 s to its first probe) would rightly end a short
      // schedule's deliveries unsent.
      BREAKER_FAILURE_THRESHOLD: '0',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    exited: () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', () => resolve())),
  };
}
