import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { namespaceReady, freePort, startDevServer } from '../../src/main/host/dev-server.js';
import { testEnv } from '../support/env.js';

/**
 * Issue 15, item 1: the first start of the real dev server, on a brand-new database file with its Web UI,
 * while every core is kept busy, is waited for until it is ready (not given up after a fixed minute).
 */
const env = testEnv();
const hogs: ChildProcess[] = [];
after(() => {
  for (const h of hogs) h.kill('SIGKILL');
});

describe('the first start of the Temporal dev server on a busy machine', () => {
  it('when every core is busy and the database file is new, then it is waited for and answers', async () => {
    for (let i = 0; i < availableParallelism() * 2; i++)
      hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const port = await freePort();
    const progress: string[] = [];
    const server = await startDevServer({
      cliPath: env.temporalCli!,
      port,
      uiPort: await freePort(),
      dbFile: join(env.tmpDir!, `first-start-${port}.sqlite`),
      logFile: join(env.tmpDir!, `first-start-${port}.log`),
      onProgress: (line) => progress.push(line),
    });
    try {
      assert.ok(await namespaceReady(server.address, 'default'));
      assert.ok(server.uiUrl);
      const ui = await fetch(server.uiUrl);
      assert.equal(ui.status, 200);
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
      await server.stop();
    }
  });
});
