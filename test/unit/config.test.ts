import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, ConfigSchema, describeConfig, loadConfig } from '../../src/config.js';

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
    const config = loadConfig({
      ...ADMIN,
      SECRETS_ENCRYPTION_KEYS: 'a, b',
      SSRF_ALLOWLIST: '127.0.0.0/8, ::1/128',
    });
    assert.deepEqual(config.SECRETS_ENCRYPTION_KEYS, ['a', 'b']);
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

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ ...ADMIN, PORT: '' }).PORT, 3000);
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
