import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { deposit, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

/**
 * The only worker process is killed (SIGKILL) while events are flowing: workflow tasks, local delivery
 * attempts and retries in flight on it. A worker started afterwards must finish every event, and no
 * receiver may see one event under two webhook-ids.
 */
let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };
const workers: WorkerProcess[] = [];

before(async () => {
  // The API in this process, without a worker: every task goes to the worker processes.
  sys = await startSystem({ worker: false, eager: false });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await sys?.stop();
  await rx?.stop();
});

describe('the worker process killed under load', () => {
  it(
    'a new worker finishes every event: each delivered once per endpoint, under one webhook-id',
    { timeout: 300_000 },
    async () => {
      const secrets = new Map<string, string>();
      const endpoints = ['/slow', '/flaky'];
      for (const path of endpoints) {
        const res = await sys.request('POST', '/v1/endpoints', {
          apiKey: op.apiKey,
          json: {
            url: rx.url(path),
            eventTypes: ['deposit.completed'],
            // More attempts than the receiver has 503s scripted, so no delivery can run out of them
            // (and go to the dead letter) whichever attempts the 503s happen to meet.
            retryPolicy: { schedule: Array.from({ length: 15 }, () => '500ms'), jitter: 0 },
          },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        secrets.set(path, res.body.secret);
      }
      // Attempts in flight when the worker dies (slow answers), and retries waiting (503s).
      rx.script(
        '/slow',
        Array.from({ length: 30 }, () => ({ status: 200, delayMs: 400 })),
      );
      rx.script(
        '/flaky',
        Array.from({ length: 10 }, () => ({ status: 503 })),
      );

      const first = spawnWorker(sys.taskQueue);
      workers.push(first);
      const events = Array.from({ length: 30 }, () => deposit(uniqueId('player')));
      for (const event of events) {
        const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
        assert.equal(res.status, 202, JSON.stringify(res.body));
      }
      // Kill it once it is busy: some deliveries done, most not.
      const deadline = Date.now() + 120_000;
      while (rx.requests('/slow').length < 5) {
        assert.ok(Date.now() < deadline, `the first worker delivered nothing:\n${first.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGKILL');
      await first.exited();
      const { rows: midway } = await sys.pool.query(
        `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS ok FROM deliveries WHERE operator_id = $1`,
        [op.id],
      );
      assert.ok(midway[0].ok < events.length * endpoints.length, 'killed before everything was delivered');

      const second = spawnWorker(sys.taskQueue);
      workers.push(second);
      for (const e of events) await sys.client.workflow.getHandle(eventWorkflowId(op.id, e.id)).result();
      const { rows } = await sys.pool.query(
        `SELECT status, count(*)::int AS n FROM deliveries WHERE operator_id = $1 GROUP BY status`,
        [op.id],
      );
      assert.deepEqual(rows, [{ status: 'succeeded', n: events.length * endpoints.length }]);

      for (const path of endpoints) {
        const wh = new Webhook(secrets.get(path)!);
        const ids = webhookIdsByEvent(
          rx.requests(path),
          (r) => wh.verify(r.body, r.headers as Record<string, string>) as { data: { eventId: string } },
        );
        assert.deepEqual([...ids.keys()].sort(), events.map((e) => e.id).sort(), path);
        for (const [eventId, set] of ids) assert.equal(set.size, 1, `${path}: ${eventId} under ${[...set]}`);
      }
      second.child.kill('SIGTERM');
      await second.exited();
    },
  );
});
