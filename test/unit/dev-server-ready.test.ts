import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, startDevServer } from '../../src/main/host/dev-server.js';

/**
 * Readiness of the Temporal dev server (issue 15, item 1): a first start that is slow but working is waited
 * for; one that stops working fails with its log's last lines and what to do. The "server" here is a
 * script standing in for the CLI that never answers, so only the waiting is under test.
 */
const dir = mkdtempSync(join(tmpdir(), 'dev-ready-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeCli(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function failure(cli: string, opts: { readyTimeoutMs: number; stallMs: number }) {
  const logFile = join(dir, `${Math.random()}.log`);
  const started = Date.now();
  const err = await startDevServer({
    cliPath: cli,
    port: await freePort(),
    dbFile: join(dir, 'never.sqlite'),
    logFile,
    ...opts,
  }).then(
    () => assert.fail('a server that never answers was taken as ready'),
    (e: Error) => e,
  );
  return { message: err.message, ms: Date.now() - started, log: readFileSync(logFile, 'utf8') };
}

describe('waiting for the Temporal dev server', () => {
  it('when the server keeps working, then it waits past the stall limit, up to the overall limit', async () => {
    // Writes a log line every 100 ms and never listens: busy, never ready.
    const cli = fakeCli(
      'busy',
      'i=0; while true; do i=$((i+1)); echo "creating schema step $i"; sleep 0.1; done',
    );
    const r = await failure(cli, { readyTimeoutMs: 3_000, stallMs: 1_000 });
    assert.ok(r.ms >= 2_900, `gave up after ${r.ms} ms although the server kept working`);
    assert.match(r.message, /was not ready after [34] s/);
  });

  it('when the server goes quiet, then it gives up after the stall limit with its log and what to do', async () => {
    const cli = fakeCli('quiet', 'echo "listener failed: address already in use"; exec sleep 60');
    const r = await failure(cli, { readyTimeoutMs: 60_000, stallMs: 1_500 });
    assert.ok(r.ms < 10_000, `waited ${r.ms} ms for a server that stopped working`);
    assert.match(r.message, /made no progress for 2 s/);
    assert.match(r.message, /Last lines of its log \(.*\):\nlistener failed: address already in use/);
    assert.match(r.message, /What to do: run the same command again/);
    assert.match(r.log, /address already in use/);
  });

  it('when the server exits, then it says so with the log at once', async () => {
    const cli = fakeCli('dies', 'echo "unable to open database file"; exit 3');
    const r = await failure(cli, { readyTimeoutMs: 60_000, stallMs: 30_000 });
    assert.ok(r.ms < 10_000);
    assert.match(r.message, /exited with 3 before it was ready/);
    assert.match(r.message, /unable to open database file/);
  });
});
