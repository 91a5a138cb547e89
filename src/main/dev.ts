/**
 * `npm run dev`: the whole system on embedded defaults, on a fresh clone.
 *
 * Finds or installs the Temporal CLI, starts its dev server (SQLite under .data/, Web UI on), migrates
 * PostgreSQL, starts the API and the worker, creates a demo operator once, and prints where everything
 * is. An API or worker process that dies is started again (and said so); one that dies more than 5 times
 * in a minute stops everything. Ctrl-C stops it all; state in .data/ and PostgreSQL survives for the next
 * run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../db/migrate.js';
import { randomBase62 } from '../db/new-id.js';
import { generateEncryptionKey } from '../delivery/secrets.js';
import { ensureTemporalCli } from './host/cli.js';
import { namespaceReady, startDevServer, stopProcess, type DevServer } from './host/dev-server.js';
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
let temporal: DevServer | undefined;
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
  const [host, portText] = config.TEMPORAL_ADDRESS.split(':');
  const uiPort = Number(new URL(config.TEMPORAL_UI_URL).port || 8233);
  if (await namespaceReady(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE)) {
    say(`using the Temporal server already running at ${config.TEMPORAL_ADDRESS}`);
  } else {
    const cli = await ensureTemporalCli(say);
    temporal = await startDevServer({
      cliPath: cli,
      ip: host,
      port: Number(portText),
      uiPort,
      dbFile: join(dataDir, 'temporal.sqlite'),
      namespace: config.TEMPORAL_NAMESPACE,
      logFile: join(dataDir, 'temporal.log'),
      metricsPort: config.TEMPORAL_SERVER_METRICS_PORT,
      onProgress: say,
    });
    say(
      `Temporal dev server at ${temporal.address} (state in .data/temporal.sqlite, log in .data/temporal.log)`,
    );
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
  for (const entry of ['api', 'worker']) {
    // A crashed process is started again (said on the console); one that keeps crashing stops everything.
    children.push(
      supervise({
        name: entry,
        start: () =>
          spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
            cwd: root,
            env,
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

  const apiUrl = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
  await waitForReady(apiUrl);
  const demo = await demoOperator(apiUrl);

  console.log(`
  affiliate-hooks is running.

  API            ${apiUrl}          (OpenAPI: ${apiUrl}/v1/openapi.json)
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
