import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  ConfigError,
  ConfigSchema,
  describeConfig,
  ENTRY_POINT_SETTINGS,
  loadConfig,
} from '../../src/config.js';
import { loadEnvFile } from '../../src/main/startup-config.js';
import { workerTuning } from '../../src/main/host/worker.js';

const root = join(import.meta.dirname, '..', '..');
const ADMIN = {
  ADMIN_TOKEN: 'a'.repeat(32),
  SECRETS_ENCRYPTION_KEYS: Buffer.alloc(32, 1).toString('base64'),
};

describe('configuration', () => {
  it('applies the documented defaults when only the admin token is set', () => {
    const config = loadConfig(ADMIN);
    assert.equal(config.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/affiliate_hooks');
    assert.equal(config.TEMPORAL_ADDRESS, '127.0.0.1:7233');
    assert.equal(config.MAX_BODY_BYTES, 262144);
    assert.equal(config.API_EMBEDDED_WORKER, true);
    assert.equal(config.RECONCILE_INTERVAL, 5000);
    assert.deepEqual(config.SSRF_ALLOWLIST, []);
    assert.equal(config.SECRET_ROTATION_GRACE, 86_400_000);
  });

  it('splits key and CIDR lists', () => {
    const [a, b] = [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')];
    const config = loadConfig({
      ...ADMIN,
      SECRETS_ENCRYPTION_KEYS: `${a}, ${b}`,
      SSRF_ALLOWLIST: '127.0.0.0/8, ::1/128',
    });
    assert.deepEqual(config.SECRETS_ENCRYPTION_KEYS, [a, b]);
    assert.deepEqual(config.SSRF_ALLOWLIST, ['127.0.0.0/8', '::1/128']);
  });

  it('parses durations and flags', () => {
    const config = loadConfig({
      ...ADMIN,
      RECONCILE_INTERVAL: '2m',
      API_EMBEDDED_WORKER: 'false',
      PORT: '8080',
    });
    assert.equal(config.RECONCILE_INTERVAL, 120_000);
    assert.equal(config.API_EMBEDDED_WORKER, false);
    assert.equal(config.PORT, 8080);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'not a url',
        RECONCILE_INTERVAL: 'soon',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const keys = error.problems.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(keys, [
      'ADMIN_TOKEN',
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
      'RECONCILE_INTERVAL',
      'SECRETS_ENCRYPTION_KEYS',
    ]);
  });

  it("sizes the workers' workflow cache only when asked, and refuses a negative size", () => {
    assert.deepEqual(workerTuning(loadConfig(ADMIN)), {});
    const config = loadConfig({ ...ADMIN, WORKER_MAX_CACHED_WORKFLOWS: '200' });
    assert.deepEqual(workerTuning(config), { maxCachedWorkflows: 200 });
    assert.deepEqual(workerTuning(loadConfig({ ...ADMIN, WORKER_MAX_CACHED_WORKFLOWS: '0' })), {
      maxCachedWorkflows: 0,
    });
    assert.throws(
      () => loadConfig({ ...ADMIN, WORKER_MAX_CACHED_WORKFLOWS: '-1' }),
      (err: unknown) =>
        err instanceof ConfigError && err.problems.some((p) => p.startsWith('WORKER_MAX_CACHED_WORKFLOWS')),
    );
  });

  it("keeps server-side activities off the API's embedded worker only when asked", () => {
    assert.equal(loadConfig(ADMIN).API_EMBEDDED_WORKER_RETRIES, true);
    const apart = loadConfig({ ...ADMIN, API_EMBEDDED_WORKER_RETRIES: 'false' });
    assert.deepEqual(workerTuning(apart), { enableNonLocalActivities: false });
    assert.throws(
      () => loadConfig({ ...ADMIN, API_EMBEDDED_WORKER_RETRIES: 'maybe' }),
      (err: unknown) =>
        err instanceof ConfigError && err.problems.some((p) => p.startsWith('API_EMBEDDED_WORKER_RETRIES')),
    );
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ ...ADMIN, PORT: '' }).PORT, 3000);
  });

  it('checks each encryption key and each CIDR up front, and lists them with every other problem', () => {
    let error: unknown;
    try {
      loadConfig(
        {
          ADMIN_TOKEN: 'a'.repeat(32),
          SECRETS_ENCRYPTION_KEYS: `${ADMIN.SECRETS_ENCRYPTION_KEYS},c2hvcnQ=,not base64!`,
          SSRF_ALLOWLIST: '127.0.0.0/8, notacidr, 10.1.2.5/24',
          PORT: 'eighty',
        },
        'api',
      );
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError, String(error));
    const text = error.problems.join('\n');
    assert.match(text, /SECRETS_ENCRYPTION_KEYS: key 2 of 3 decodes to 5 bytes/);
    assert.match(text, /SECRETS_ENCRYPTION_KEYS: key 3 of 3 is not valid base64/);
    assert.match(text, /SSRF_ALLOWLIST: .*"notacidr".*not an IP address/);
    assert.match(text, /SSRF_ALLOWLIST: .*"10\.1\.2\.5\/24".*bits are set/);
    assert.match(text, /^PORT: /m);
    assert.ok(!text.includes(ADMIN.SECRETS_ENCRYPTION_KEYS), 'a key is never printed');
  });

  it('refuses a repeated encryption key', () => {
    const key = ADMIN.SECRETS_ENCRYPTION_KEYS;
    assert.throws(
      () => loadConfig({ ...ADMIN, SECRETS_ENCRYPTION_KEYS: `${key},${key}` }, 'worker'),
      /SECRETS_ENCRYPTION_KEYS: key 2 of 2 repeats key 1/,
    );
  });

  it('each entry point checks only what it reads: migrate needs no admin token and no keys', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', SSRF_ALLOWLIST: 'junk' }, 'migrate');
    assert.deepEqual(config, { DATABASE_URL: 'postgres://u@db:5432/x' });
    const worker = loadConfig({ SECRETS_ENCRYPTION_KEYS: ADMIN.SECRETS_ENCRYPTION_KEYS }, 'worker');
    assert.equal(worker.TEMPORAL_TASK_QUEUE, 'affiliate-hooks');
    assert.equal('ADMIN_TOKEN' in worker, false, 'the worker does not read the admin token');
    assert.throws(
      () => loadConfig({ SECRETS_ENCRYPTION_KEYS: ADMIN.SECRETS_ENCRYPTION_KEYS }, 'api'),
      /ADMIN_TOKEN/,
    );
    // temporal:setup sets the namespace retention to match the deliveries' rows.
    assert.deepEqual(Object.keys(loadConfig({}, 'temporal-setup')).sort(), [
      'RETENTION_DELIVERIES_AFTER',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
    ]);
  });

  it('keeps attempt logs 30 days and events and deliveries 90 by default, conversions at least as long as events', () => {
    const worker = loadConfig({ SECRETS_ENCRYPTION_KEYS: ADMIN.SECRETS_ENCRYPTION_KEYS }, 'worker');
    const day = 86_400_000;
    assert.equal(worker.RETENTION_ATTEMPTS_AFTER, 30 * day);
    assert.equal(worker.RETENTION_DELIVERIES_AFTER, 90 * day);
    assert.equal(worker.RETENTION_EVENTS_AFTER, 90 * day);
    assert.equal(worker.RETENTION_CONVERSIONS_AFTER, 180 * day);
    assert.equal(worker.RETENTION_BATCH_SIZE, 5000);
    assert.throws(
      () =>
        loadConfig(
          {
            SECRETS_ENCRYPTION_KEYS: ADMIN.SECRETS_ENCRYPTION_KEYS,
            RETENTION_EVENTS_AFTER: '200d',
            RETENTION_INBOUND_AFTER: '1m',
          },
          'worker',
        ),
      (err: Error) =>
        /RETENTION_CONVERSIONS_AFTER: must be at least RETENTION_EVENTS_AFTER/.test(err.message) &&
        /RETENTION_INBOUND_AFTER: must be at least 5m/.test(err.message),
    );
  });

  it('every setting is read by some entry point, and the README says which', () => {
    const read = new Set(Object.values(ENTRY_POINT_SETTINGS).flat());
    assert.deepEqual(
      Object.keys(ConfigSchema.shape).filter((k) => !read.has(k as never)),
      [],
      'settings no entry point reads',
    );
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.match(readme, /\| Variable \| Default \| Read by \| Meaning \|/);
    for (const row of describeConfig()) {
      assert.ok(row.readBy.length > 0, row.key);
      assert.ok(
        readme.includes(`| \`${row.key}\` | ${row.default === undefined ? '' : ''}`),
        `README row for ${row.key}`,
      );
    }
    const migrateRow = readme.split('\n').find((l) => l.startsWith('| `ADMIN_TOKEN` |')) ?? '';
    assert.match(migrateRow, /\| `api`, `dev` \|/);
  });

  it('.env: read into the environment, a variable already set wins, a missing default file is no error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotenv-'));
    try {
      writeFileSync(join(dir, '.env'), '# comment\nPORT=8080\nLOG_LEVEL="debug"\nHOST=0.0.0.0\n');
      const env: NodeJS.ProcessEnv = { PORT: '9090', HOST: '' };
      assert.equal(loadEnvFile(env, dir), join(dir, '.env'));
      assert.deepEqual(env, { PORT: '9090', HOST: '', LOG_LEVEL: 'debug' });
      const none: NodeJS.ProcessEnv = { ENV_FILE: 'none' };
      assert.equal(loadEnvFile(none, dir), null);
      assert.deepEqual(none, { ENV_FILE: 'none' });
      const empty = mkdtempSync(join(tmpdir(), 'dotenv-'));
      assert.equal(loadEnvFile({}, empty), null);
      rmSync(empty, { recursive: true });
      assert.throws(() => loadEnvFile({ ENV_FILE: join(dir, 'nope.env') }, dir), /ENV_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes every key, and the README and .env.example list them all', () => {
    const rows = describeConfig();
    assert.deepEqual(
      rows.map((r) => r.key),
      Object.keys(ConfigSchema.shape),
    );
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const row of rows) {
      assert.ok(row.description.length > 10, `${row.key} has a description`);
      assert.ok(readme.includes(`\`${row.key}\``), `README documents ${row.key}`);
      assert.match(example, new RegExp(`^#? ?${row.key}=`, 'm'), `.env.example lists ${row.key}`);
    }
  });
});
