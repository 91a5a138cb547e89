import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { randomBase62 } from '../../src/db/new-id.js';
import { RETENTION_SCHEDULE_ID } from '../../src/temporal/retention-schedule.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { freePort } from '../../src/main/host/dev-server.js';
import { testEnv } from '../support/env.js';
import { deposit, registration, uniqueId } from '../support/factories.js';

/**
 * The real entry points as separate processes, as an operator runs them: migrate, api (without an embedded
 * worker) and worker, each configured only through the environment.
 */
const env = testEnv();
const root = join(import.meta.dirname, '..', '..');
let port: number;
let workerMetricsPort: number;
let sdkMetricsPort: number;
let childEnv: NodeJS.ProcessEnv;
let connection: Connection;
let client: Client;

function run(entry: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  port = await freePort();
  workerMetricsPort = await freePort();
  sdkMetricsPort = await freePort();
  childEnv = {
    ...process.env,
    DATABASE_URL: env.databaseUrl,
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_TASK_QUEUE: `e2e-${randomBase62(8)}`,
    TEMPORAL_WORKFLOW_BUNDLE: env.workflowBundle,
    ADMIN_TOKEN: env.adminToken,
    SECRETS_ENCRYPTION_KEYS: env.encryptionKeys.join(','),
    PORT: String(port),
    API_EMBEDDED_WORKER: 'false',
    // Read by the worker only: its metrics, and the Temporal SDK's.
    WORKER_METRICS_PORT: String(workerMetricsPort),
    TEMPORAL_METRICS_PORT: String(sdkMetricsPort),
    LOG_LEVEL: 'info',
    ENV_FILE: 'none',
    REQUEST_TIMEOUT: '3s',
  };
  connection = await Connection.connect({ address: env.temporalAddress });
  client = new Client({ connection });
});
after(async () => {
  await connection?.close();
});

describe('the entry points', () => {
  it('migrate is idempotent and says what it did', async () => {
    const migrate = run('migrate');
    assert.equal(await migrate.exited, 0, migrate.output());
    assert.match(migrate.output(), /applied nothing new \(\d+ already applied\)/);
  });

  it('a client that stops sending its request is answered 408 and let go (REQUEST_TIMEOUT)', async () => {
    const api = run('api');
    try {
      await waitFor(`http://127.0.0.1:${port}/health`);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          // Headers promise 100 bytes; one arrives, then nothing (a slow or stuck client).
          socket.write(
            'POST /v1/operators HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              `Authorization: Bearer ${env.adminToken}\r\nContent-Length: 100\r\n\r\n{`,
          );
        });
        let got = '';
        socket.on('data', (d: Buffer) => (got += d.toString()));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        setTimeout(() => reject(new Error(`still open after 20 s: ${got}`)), 20_000).unref();
      });
      assert.match(answer, /^HTTP\/1\.1 408 /);
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });

  it('an event sent to the api process is processed by the worker process, and SIGTERM drains in-flight requests', async () => {
    const worker = run('worker');
    const api = run('api');
    try {
      await waitFor(`http://127.0.0.1:${port}/ready`);
      const created = await fetch(`http://127.0.0.1:${port}/v1/operators`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'e2e' }),
      });
      const op = (await created.json()) as { id: string; apiKey: string };
      const customerId = uniqueId('player');
      const reg = registration(customerId);
      const accepted = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(reg),
      });
      assert.equal(accepted.status, 202);
      const result = await client.workflow.getHandle(eventWorkflowId(op.id, reg.id)).result();
      assert.deepEqual(result.emits, ['customer.registered']);
      // The worker process serves its metrics, and the SDK Runtime its own, each on its port.
      const metrics = await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text();
      assert.match(metrics, /^affiliate_hooks_deliveries_retrying \d+$/m);
      const sdk = await (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text();
      assert.match(sdk, /^temporal_\w+/m);
      // The worker process keeps the retention clean-up's Schedule, pointed at its own task queue.
      const schedule = await client.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
      assert.equal(schedule.action.type, 'startWorkflow');
      assert.equal(schedule.action.workflowType, 'cleanUpExpiredRows');
      assert.equal(schedule.action.taskQueue, childEnv.TEMPORAL_TASK_QUEUE);
      assert.match(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        /affiliate_hooks_events_accepted_total\{source="api",duplicate="false"\} 1$/m,
      );

      // Half a request is in flight when SIGTERM arrives; the API must finish it before exiting.
      const dep = JSON.stringify(deposit(customerId));
      const inFlight = new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/events',
            method: 'POST',
            headers: {
              authorization: `Bearer ${op.apiKey}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(dep),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.write(dep.slice(0, 20));
        setTimeout(() => {
          api.child.kill('SIGTERM');
          setTimeout(() => req.end(dep.slice(20)), 300);
        }, 200);
      });
      assert.equal(await inFlight, 202);
      assert.equal(await api.exited, 0, api.output());
      assert.match(api.output(), /"msg":"draining"/);
      assert.match(api.output(), /"msg":"stopped"/);

      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.output());
      assert.match(worker.output(), /"msg":"stopped"/);
      // Nothing secret reached the logs.
      assert.ok(!api.output().includes(op.apiKey));
      assert.ok(!api.output().includes(env.adminToken));
    } finally {
      api.child.kill('SIGKILL');
      worker.child.kill('SIGKILL');
    }
  });
});
