/**
 * `npm test`: the whole suite on a fresh machine. Starts its own Temporal dev server (headless, free port,
 * temporary SQLite file), creates a throwaway PostgreSQL database, migrates it, bundles the workflows once,
 * runs every test file with node's test runner, and cleans everything up, whatever the outcome.
 *
 *   npm test                      unit + integration
 *   npm test -- --only unit       pure tests only (no Temporal, no PostgreSQL)
 *   npm test -- --only integration
 *   npm test -- test/integration/events.test.ts   just these files
 *   npm run test:integration -- --temporal=postgres   against the full Temporal server on PostgreSQL
 *                                 (throwaway databases, set up by temporal:setup) instead of the dev server
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { generateEncryptionKey } from '../src/delivery/secrets.js';
import { randomBase62 } from '../src/db/new-id.js';
import { ensureTemporalCli } from '../src/main/host/cli.js';
import { freePort, startDevServer } from '../src/main/host/dev-server.js';
import { DYNAMIC_CONFIG_FILE, runTemporalSetup, temporalModeFrom } from '../src/main/host/local-temporal.js';
import { ensureGoTool } from '../src/main/host/go-binary.js';
import {
  freeServerPorts,
  startPgTemporal,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
} from '../src/main/host/pg-temporal.js';
import { bundleWorkflows } from '../src/main/host/worker.js';
import { BROWSER_TEST_FILES, ensureChromium } from './support/browser.js';

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
const explicit = argv.filter((a, i) => a.endsWith('.ts') && argv[i - 1] !== '--only');

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

const kinds = only ? [only] : ['unit', 'integration', 'e2e'];
const files = explicit.length
  ? explicit.map((f) => join(root, f))
  : kinds.flatMap((k) => testFiles(join(root, 'test', k)));
const needsServices = files.some((f) => !relative(root, f).startsWith(join('test', 'unit')));

const TLS_TEST_FILE = join('test', 'e2e', 'temporal-tls.test.ts');

const say = (line: string) => console.log(`test: ${line}`);
const cleanups: (() => Promise<void>)[] = [];
async function cleanup() {
  for (const fn of cleanups.reverse()) await fn().catch((err: Error) => say(`cleanup: ${err.message}`));
  cleanups.length = 0;
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

// ENV_FILE=none: entry points the tests start read their settings from the tests alone, never from a
// developer's .env in the repository root.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  ENV_FILE: 'none',
};
let code = 1;
try {
  if (needsServices) {
    const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-test-'));
    cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

    const baseUrl =
      process.env.TEST_DATABASE_URL ??
      process.env.DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres';
    // Tests that start servers of their own (outages, first start) and call the CLI need it in both modes.
    const cli = await ensureTemporalCli(say);
    // The browser test drives Debian's Chromium: found or installed before any test starts.
    const chromium = files.some((f) => BROWSER_TEST_FILES.includes(relative(root, f)))
      ? await ensureChromium(say)
      : undefined;
    // The TLS test runs the full server (the PostgreSQL mode's programs): found or built before it starts.
    if (files.some((f) => relative(root, f) === TLS_TEST_FILE))
      for (const tool of [TEMPORAL_SERVER, TEMPORAL_SQL_TOOL]) await ensureGoTool(tool, say);
    const started = Date.now();
    const server =
      temporalModeFrom(argv) === 'postgres'
        ? await startPgServer(baseUrl, tmp)
        : await startDevServer({
            cliPath: cli,
            port: await freePort(),
            // The Web UI, for the browser test: the CLI serves it from the same process (no extra service).
            uiPort: await freePort(),
            dbFile: join(tmp, 'temporal.sqlite'),
            logFile: join(tmp, 'temporal.log'),
            onProgress: say,
          });
    cleanups.push(() => server.stop());
    say(`Temporal server at ${server.address} (ready in ${Date.now() - started} ms)`);

    const dbName = `affiliate_hooks_test_${randomBase62(10).toLowerCase()}`;
    const dbUrl = new URL(baseUrl);
    dbUrl.pathname = `/${dbName}`;
    const migrated = await migrate(dbUrl.toString());
    cleanups.push(() => dropDatabases(baseUrl, [dbName]));
    say(`PostgreSQL database ${dbName} (${migrated.applied.length} migrations)`);

    const bundlePath = join(tmp, 'workflow-bundle.js');
    writeFileSync(bundlePath, await bundleWorkflows());
    say('workflows bundled');

    Object.assign(env, {
      DATABASE_URL: dbUrl.toString(),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_WORKFLOW_BUNDLE: bundlePath,
      TEMPORAL_CLI: cli,
      ...(server.uiUrl ? { TEMPORAL_UI_URL: server.uiUrl } : {}),
      ...(chromium ? { CHROMIUM_PATH: chromium } : {}),
      TEST_TMP_DIR: tmp,
      ADMIN_TOKEN: env.ADMIN_TOKEN ?? `test-admin-${randomBase62(24)}`,
      SECRETS_ENCRYPTION_KEYS: generateEncryptionKey(),
      SSRF_ALLOWLIST: '127.0.0.0/8,::1/128',
    });
  }

  // End-to-end files start processes of their own (workers, a whole bench) and kill them: they run one at a
  // time, after the rest, with more time each, so two of them never starve each other of the two cores.
  const isE2e = (f: string) => relative(root, f).startsWith(join('test', 'e2e'));
  const groups = [
    { files: files.filter((f) => !isE2e(f)), concurrency: 2, timeoutMs: 120_000 },
    { files: files.filter(isE2e), concurrency: 1, timeoutMs: 300_000 },
  ].filter((g) => g.files.length);
  say(`running ${files.length} test files`);
  code = 0;
  for (const group of groups) {
    const groupCode = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          '--test-reporter=spec',
          `--test-concurrency=${group.concurrency}`,
          `--test-timeout=${group.timeoutMs}`,
          ...group.files,
        ],
        { cwd: root, env, stdio: 'inherit' },
      );
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (groupCode !== 0) code = groupCode;
  }
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);

/**
 * The full Temporal server on throwaway databases of the local PostgreSQL (dropped afterwards), on free
 * ports, set up by temporal:setup as any cluster is.
 */
async function startPgServer(baseUrl: string, tmp: string) {
  const database = `temporal_test_${randomBase62(10).toLowerCase()}`;
  cleanups.push(() => dropDatabases(baseUrl, [database, `${database}_visibility`]));
  const server = await startPgTemporal({
    pgUrl: baseUrl,
    database,
    ports: await freeServerPorts(),
    stateDir: join(tmp, 'temporal-postgres'),
    dynamicConfigFile: DYNAMIC_CONFIG_FILE,
    say,
  });
  try {
    await runTemporalSetup({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' }, say);
  } catch (err) {
    await server.stop();
    throw err;
  }
  say(`Temporal server on PostgreSQL (databases ${database}, ${database}_visibility; log ${server.logFile})`);
  return server;
}

async function dropDatabases(baseUrl: string, names: string[]): Promise<void> {
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (const name of names)
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
