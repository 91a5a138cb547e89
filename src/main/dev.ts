/**
 * `npm run dev`: the whole system on embedded defaults, on a fresh clone.
 *
 * Finds or installs the Temporal CLI, starts its dev server (SQLite under .data/, Web UI on), migrates
 * PostgreSQL, starts the API and the worker, creates a demo operator once, and prints where everything
 * is. An API or worker process that dies is started again (and said so); one that dies more than 5 times
 * in a minute stops everything. Ctrl-C stops it all; state in .data/ and PostgreSQL survives for the next
 * run.
 *
 *   npm run dev                          the CLI's dev server (SQLite in .data/), one API, one worker
 *   npm run dev -- --temporal=postgres   the full Temporal server on the local PostgreSQL with its Web UI,
 *                                        set up by temporal:setup, two APIs (PORT, PORT+1) and two workers
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../db/migrate.js';
import { randomBase62 } from '../db/new-id.js';
import { generateEncryptionKey } from '../delivery/secrets.js';
import { namespaceReady, stopProcess } from './host/dev-server.js';
import { startLocalTemporal, temporalModeFrom, type LocalTemporal } from './host/local-temporal.js';
import { startupConfig } from './startup-config.js';
import { supervise, type Supervised } from './supervise.js';

const root = join(import.meta.dirname, '..', '..');
const dataDir = join(root, '.data');
mkdirSync(dataDir, { recursive: true });
const say = (line: string) => console.log(`dev: ${line}`);

interface DevState {
  adminToken: string;
  encryptionKey?: string;
  demo?: { operatorId: string; apiKey: string; apiUrl: string };
}
const stateFile = join(dataDir, 'dev-state.json');
const state: DevState = existsSync(stateFile)
  ? (JSON.parse(readFileSync(stateFile, 'utf8')) as DevState)
  : { adminToken: `dev-admin-${randomBase62(32)}` };
state.encryptionKey ??= generateEncryptionKey();
const saveState = () => writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
saveState();

// What the API and the worker will read is checked here, before anything starts. Development defaults fill
// in only what neither the environment nor .env sets.
const config = startupConfig('dev', (env) => {
  // `||=`: a copied .env.example sets these empty, which means unset.
  env.ADMIN_TOKEN ||= state.adminToken;
  env.SECRETS_ENCRYPTION_KEYS ||= state.encryptionKey;
  // Local receivers (a tracker stub on this machine) are reachable in development only.
  env.SSRF_ALLOWLIST ??= '127.0.0.0/8,::1/128';
});

const children: Supervised[] = [];
let temporal: LocalTemporal | undefined;
let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping');
  for (const c of children) c.stop();
  await Promise.all(children.map((c) => stopProcess(c.current(), config.SHUTDOWN_GRACE)));
  await temporal?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  const mode = temporalModeFrom(process.argv.slice(2));
  if (await namespaceReady(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE)) {
    say(`using the Temporal server already running at ${config.TEMPORAL_ADDRESS}`);
  } else {
    temporal = await startLocalTemporal({
      mode,
      address: config.TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      uiUrl: config.TEMPORAL_UI_URL,
      metricsPort: config.TEMPORAL_SERVER_METRICS_PORT,
      databaseUrl: config.DATABASE_URL,
      dataDir,
      say,
    });
    say(temporal.description);
  }

  try {
    const result = await migrate(config.DATABASE_URL, {
      onPlan: (pending) => pending.length && say(`applying migrations ${pending.join(', ')}`),
    });
    say(
      `PostgreSQL ready${result.created ? ' (database created)' : ''}; migrations applied: ${result.applied.length || 'none new'}`,
    );
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${config.DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}\n` +
        'Start PostgreSQL or set DATABASE_URL (see README, "Configuration").',
      { cause: err },
    );
  }

  // The children get what this process read (environment, .env, development defaults), already checked:
  // they read no .env of their own, which might be another file from their working directory.
  const env = { ...process.env, ENV_FILE: 'none' };
  for (const { name, entry, overrides } of devProcesses(mode === 'postgres' ? 2 : 1, config)) {
    // A crashed process is started again (said on the console); one that keeps crashing stops everything.
    children.push(
      supervise({
        name,
        start: () =>
          spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
            cwd: root,
            env: { ...env, ...overrides },
            stdio: ['ignore', 'inherit', 'inherit'],
          }),
        say,
        onGiveUp: () => {
          say('stopping everything');
          void stopAll(1);
        },
      }),
    );
  }

  const apiHost = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}`;
  const apiUrl = `${apiHost}:${config.PORT}`;
  const apiUrls = devProcesses(mode === 'postgres' ? 2 : 1, config)
    .filter((p) => p.entry === 'api')
    .map((p) => `${apiHost}:${p.overrides.PORT ?? config.PORT}`);
  for (const url of apiUrls) await waitForReady(url);
  const demo = await demoOperator(apiUrl);

  console.log(`
  affiliate-hooks is running${mode === 'postgres' ? ' on Temporal on PostgreSQL (2 APIs, 2 workers)' : ''}.

  API            ${apiUrls.join(', ')}          (OpenAPI: ${apiUrl}/v1/openapi.json)
  Console        ${apiUrl}/console                 (sign in with the API key below)
  Temporal UI    ${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows
  Demo operator  ${demo.operatorId}
  API key        ${demo.apiKey}
  Admin token    in .data/dev-state.json (or your ADMIN_TOKEN)

  Try it:
    curl -s -X POST ${apiUrl}/v1/events \\
      -H "Authorization: Bearer ${demo.apiKey}" -H "Content-Type: application/json" \\
      -d '{"id":"evt-demo-1","type":"customer.registered","occurredAt":"2026-11-27T10:00:00Z",
           "customerId":"player-42","attribution":{"affiliateId":"aff-7","clickId":"c-9f1"},
           "data":{"country":"DE"}}'
  then open the Temporal UI and find workflow  event:${demo.operatorId}:evt-demo-1

  Ctrl-C stops everything.
`);
} catch (err) {
  console.error(`dev: ${(err as Error).message}`);
  await stopAll(1);
}

/**
 * The API and worker processes: `copies` of each (two in postgres mode, as a scaled-out deployment runs
 * them), the n-th on the n-th port from PORT and from each metrics port that is set.
 */
function devProcesses(copies: number, c: typeof config) {
  const plus = (key: 'PORT' | 'WORKER_METRICS_PORT' | 'TEMPORAL_METRICS_PORT', n: number) =>
    n === 0 || c[key] === undefined ? {} : { [key]: String(c[key] + n) };
  return Array.from({ length: copies }, (_, n) => {
    const suffix = n === 0 ? '' : `-${n + 1}`;
    const worker = { ...plus('WORKER_METRICS_PORT', n), ...plus('TEMPORAL_METRICS_PORT', n) };
    return [
      { name: `api${suffix}`, entry: 'api', overrides: plus('PORT', n) as Record<string, string> },
      { name: `worker${suffix}`, entry: 'worker', overrides: worker as Record<string, string> },
    ];
  }).flat();
}

async function waitForReady(apiUrl: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const res = await fetch(`${apiUrl}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API at ${apiUrl} did not become ready`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The demo operator of an earlier run if its key still works here, else a new one. */
async function demoOperator(apiUrl: string): Promise<{ operatorId: string; apiKey: string }> {
  if (state.demo && state.demo.apiUrl === apiUrl) {
    const res = await fetch(`${apiUrl}/v1/events/does-not-exist`, {
      headers: { authorization: `Bearer ${state.demo.apiKey}` },
    });
    if (res.status === 404) return state.demo;
  }
  const res = await fetch(`${apiUrl}/v1/operators`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Demo operator' }),
  });
  if (res.status !== 201)
    throw new Error(`could not create the demo operator: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string; apiKey: string };
  state.demo = { operatorId: body.id, apiKey: body.apiKey, apiUrl };
  saveState();
  return state.demo;
}
