import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SA, searchAttributeFlags } from '../../src/domain/search-attributes.js';
import { findTemporalCli, TEMPORAL_CLI_VERSION } from '../../src/main/host/cli.js';
import { devServerArgs } from '../../src/main/host/dev-server.js';

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('finding the Temporal CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-probe-'));
  const fake = join(dir, 'temporal');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);

  it('prefers TEMPORAL_CLI', () => {
    const found = withEnv({ TEMPORAL_CLI: fake }, () => findTemporalCli());
    assert.deepEqual(found, { path: fake, source: 'TEMPORAL_CLI' });
  });

  it('refuses a TEMPORAL_CLI that is not executable, rather than silently using another', () => {
    assert.throws(
      () => withEnv({ TEMPORAL_CLI: join(dir, 'missing') }, () => findTemporalCli()),
      /not an executable/,
    );
  });

  it('then looks on PATH', () => {
    const found = withEnv({ TEMPORAL_CLI: undefined, PATH: `${dir}:/usr/bin:/bin` }, () => findTemporalCli());
    assert.deepEqual(found, { path: fake, source: 'PATH' });
  });

  it('then in Go bin folders, and installs the newest go-installable release', () => {
    const gopath = mkdtempSync(join(tmpdir(), 'gopath-'));
    const found = withEnv(
      { TEMPORAL_CLI: undefined, PATH: '/nonexistent', HOME: gopath, GOPATH: gopath, GOBIN: '' },
      () => findTemporalCli(),
    );
    // `go` is not on this PATH, so only ~/go/bin is searched, and it is empty.
    assert.equal(found, null);
    assert.equal(TEMPORAL_CLI_VERSION, 'v1.5.1');
  });
});

describe('the dev server command line', () => {
  const args = devServerArgs({ cliPath: 'temporal', port: 7233, uiPort: 8233, dbFile: '/tmp/t.sqlite' });

  it('keeps state in a SQLite file with WAL and synchronous=normal', () => {
    assert.ok(args.includes('--db-filename') && args.includes('/tmp/t.sqlite'));
    assert.ok(args.includes('journal_mode=wal'));
    assert.ok(args.includes('synchronous=normal'));
  });

  it('registers every project search attribute', () => {
    const registered = args.filter((_, i) => args[i - 1] === '--search-attribute');
    assert.deepEqual(registered, searchAttributeFlags());
    assert.equal(registered.length, Object.keys(SA).length);
    assert.ok(registered.includes('EndpointId=KeywordList'));
    assert.ok(registered.includes('DeliveryAttempt=Int'));
    assert.ok(registered.includes('NextAttemptAt=Datetime'));
  });

  it('serves the Web UI unless headless', () => {
    assert.ok(args.includes('--ui-port') && !args.includes('--headless'));
    const headless = devServerArgs({ cliPath: 'temporal', port: 7233, dbFile: '/tmp/t.sqlite' });
    assert.ok(headless.includes('--headless') && !headless.includes('--ui-port'));
  });

  it("exports the server's own Prometheus metrics on a fixed port when given one, else Temporal's random one", () => {
    const fixed = devServerArgs({
      cliPath: 'temporal',
      port: 7233,
      dbFile: '/tmp/t.sqlite',
      metricsPort: 8000,
    });
    assert.equal(fixed[fixed.indexOf('--metrics-port') + 1], '8000');
    assert.ok(!args.includes('--metrics-port'));
  });
});
