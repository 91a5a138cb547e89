import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { reconcileOnce, startReconciler } from '../../src/ingest/reconciler.js';
import { freePort, startDevServer, type DevServer } from '../../src/main/host/dev-server.js';
import { testEnv } from '../support/env.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent } from '../support/receiver.js';
import { ageEvents, agedReconcilerDeps, recordOnly } from '../support/recorded.js';
import { startSystem, type System } from '../support/system.js';

/**
 * This file runs its own Temporal dev server, so it can stop and restart it without disturbing other files.
 */
const env = testEnv();
let server: DevServer;
let port: number;
let dbFile: string;
let sys: System;
let op: { id: string; apiKey: string };

async function startServer() {
  server = await startDevServer({
    cliPath: env.temporalCli!,
    port,
    dbFile,
    logFile: join(env.tmpDir!, `outage-${port}.log`),
  });
}

before(async () => {
  port = await freePort();
  dbFile = join(env.tmpDir!, `outage-${port}.sqlite`);
  await startServer();
  sys = await startSystem({ temporalAddress: server.address, startTimeoutMs: 2_000 });
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await server?.stop();
});

async function rowState(eventId: string) {
  const { rows } = await sys.pool.query(
    'SELECT workflow_started_at, acknowledged_at, status FROM events WHERE operator_id = $1 AND event_id = $2',
    [op.id, eventId],
  );
  return rows[0] as
    { workflow_started_at: Date | null; acknowledged_at: Date | null; status: string } | undefined;
}

describe('when Temporal is unreachable', () => {
  it('answers 503, keeps the event for the retry, and after a restart the same submission is accepted', async () => {
    const before = registration(uniqueId('player'));
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: before })).status, 202);

    await server.stop();
    const event = deposit(uniqueId('player'));
    const down = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.error.code, 'service_unavailable');
    assert.ok(down.headers.get('retry-after'));
    const ready = await sys.request('GET', '/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { database: true, temporal: false });

    // Recorded, but neither started nor acknowledged: the sender was told to retry.
    const kept = await rowState(event.id);
    assert.equal(kept?.workflow_started_at, null);
    assert.equal(kept?.acknowledged_at, null);

    await startServer();
    const up = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(up.status, 202, JSON.stringify(up.body));
    assert.equal(up.body.duplicate, false);
    const result = await sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id)).result();
    assert.equal(result.facts.ftd, true);

    const again = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
  });

  it('the reconciler starts an event that was recorded but never started (the API died in between)', async () => {
    const event = deposit(uniqueId('player'));
    // What acceptEvent writes before it starts the workflow; then the process "dies".
    const { workflowId } = await recordOnly(sys.pool, op.id, event);
    await assert.rejects(sys.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
    await ageEvents(sys.pool, op.id, [event.id]);

    const deps = agedReconcilerDeps(sys);
    // Other test files share this database, so the reconciler may have old rows of theirs to start too:
    // run it until this event's row is taken (bounded).
    for (let i = 0; i < 20 && !(await rowState(event.id))?.workflow_started_at; i++)
      await reconcileOnce(deps);
    await sys.client.workflow.getHandle(workflowId).result();
    const state = await rowState(event.id);
    assert.ok(state?.workflow_started_at);
    assert.equal(state?.status, 'processed');
    // The sender retrying now is told 202 (it never got an answer), and nothing starts twice.
    const retry = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(retry.status, 202);
    const runs = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runs.push(wf.runId);
    assert.equal(runs.length, 1);
    // Another pass starts nothing for it again.
    await reconcileOnce(deps);
    const after = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      after.push(wf.runId);
    assert.deepEqual(after, runs);
  });
});

describe('an affiliate change while Temporal is unreachable', () => {
  it('still answers 201 and keeps its event, which the reconciler starts and delivers', async () => {
    const rx = await startReceiver();
    try {
      const affiliateId = uniqueId('aff');
      const ep = await sys.request('POST', '/v1/endpoints', {
        apiKey: op.apiKey,
        json: { url: rx.url('/aff'), eventTypes: ['affiliate.*'], affiliateId },
      });
      assert.equal(ep.status, 201, JSON.stringify(ep.body));
      await server.stop();
      const deal = {
        model: 'lot',
        amountPerLot: '7.00',
        currency: 'USD',
        holdPeriod: '1d',
        clawbackWindow: '7d',
      };
      const put = await sys.request('PUT', `/v1/affiliates/${affiliateId}`, {
        apiKey: op.apiKey,
        json: { name: affiliateId, deal },
      });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      const eventRow = async () =>
        (
          await sys.pool.query(
            `SELECT event_id, workflow_started_at FROM events
              WHERE operator_id = $1 AND type = 'affiliate.created' AND payload->'data'->>'affiliateId' = $2`,
            [op.id, affiliateId],
          )
        ).rows[0] as { event_id: string; workflow_started_at: Date | null } | undefined;
      const kept = await eventRow();
      assert.ok(kept, 'the event was recorded with the change');
      assert.equal(kept.workflow_started_at, null);
      // Aged for this file's reconciler alone, with the endpoint's subscription (an event goes to the
      // subscribers as of its acceptance).
      await ageEvents(sys.pool, op.id, [kept.event_id]);
      await sys.pool.query(
        `UPDATE endpoint_subscriptions SET valid_from = valid_from - interval '2 hours' WHERE endpoint_id = $1`,
        [(ep.body as { id: string }).id],
      );

      await startServer();
      const deps = agedReconcilerDeps(sys);
      for (let i = 0; i < 20 && !(await eventRow())?.workflow_started_at; i++) await reconcileOnce(deps);
      assert.ok((await eventRow())?.workflow_started_at);
      const [got] = await rx.waitFor('/aff', 1, 60_000);
      assert.equal(JSON.parse(got!.body).type, 'affiliate.created');
    } finally {
      await rx.stop();
    }
  });
});

describe('a worker told to stop while its reconciler works off a backlog', () => {
  it('stops after the start in flight, not after the backlog: the rest waits for the next process', async () => {
    // A backlog after an outage: 400 events recorded, none started.
    const customerId = uniqueId('player');
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const event = registration(`${customerId}-${i}`);
      await recordOnly(sys.pool, op.id, event);
      ids.push(event.id);
    }
    await ageEvents(sys.pool, op.id, ids);
    const startedOfOurs = async () => {
      const { rows } = await sys.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events
          WHERE operator_id = $1 AND event_id = ANY($2) AND workflow_started_at IS NOT NULL`,
        [op.id, ids],
      );
      return rows[0]!.n;
    };
    const reconciler = startReconciler(agedReconcilerDeps(sys), 10);
    try {
      while ((await startedOfOurs()) === 0) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await reconciler.stop();
    }
    const atStop = await startedOfOurs();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await startedOfOurs(), atStop, 'nothing is started once stop() has returned');
    assert.ok(
      atStop < ids.length,
      `stop() waited for the whole backlog (${atStop} of ${ids.length} started)`,
    );
    // The rest is what the next worker's reconciler would start; other files' reconcilers must not.
    await sys.pool.query(
      'DELETE FROM events WHERE operator_id = $1 AND event_id = ANY($2) AND workflow_started_at IS NULL',
      [op.id, ids],
    );
  });
});

describe('when the Temporal server is killed under load', () => {
  it('loses nothing: every accepted event is delivered to each endpoint, under one webhook-id', async () => {
    const rx = await startReceiver();
    try {
      const sender = await sys.createOperator('killed-server');
      const endpoints = ['/steady', '/flaky'];
      for (const path of endpoints) {
        const res = await sys.request('POST', '/v1/endpoints', {
          apiKey: sender.apiKey,
          json: {
            url: rx.url(path),
            eventTypes: ['deposit.completed'],
            // More attempts than the receiver has 503s scripted, so no delivery can run out of them
            // (and go to the dead letter) whichever attempts the 503s happen to meet.
            retryPolicy: { schedule: Array.from({ length: 15 }, () => '500ms'), jitter: 0 },
          },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      // Some deliveries are waiting to retry when the server dies.
      rx.script(
        '/flaky',
        Array.from({ length: 12 }, () => ({ status: 503 })),
      );

      const events = Array.from({ length: 40 }, () => deposit(uniqueId('player')));
      const answers = new Map<string, number>();
      let killed = false;
      let refused = 0;
      let restarted: Promise<void> | undefined;
      /** Sends one event as a sender would: a 503 (or no answer) is retried with the same body. */
      const send = async (event: (typeof events)[number]) => {
        for (;;) {
          const res = await sys
            .request('POST', '/v1/events', { apiKey: sender.apiKey, json: event })
            .catch(() => ({ status: 0, body: null }));
          if (res.status === 202 || res.status === 200) {
            answers.set(event.id, res.status);
            break;
          }
          assert.ok(
            res.status === 503 || res.status === 0,
            `unexpected ${res.status}: ${JSON.stringify(res.body)}`,
          );
          refused += 1;
          await new Promise((r) => setTimeout(r, 250));
        }
        if (answers.size === 15 && !killed) {
          killed = true;
          server.process.kill('SIGKILL');
          restarted = new Promise((r) => setTimeout(r, 3_000)).then(startServer);
        }
      };
      for (let i = 0; i < events.length; i += 5) await Promise.all(events.slice(i, i + 5).map(send));
      await restarted;
      assert.ok(killed, 'the server was killed while events were being sent');
      assert.ok(refused > 0, 'some events were sent while the server was down, and retried');

      // Every event, however it was answered, is delivered to both endpoints and its workflow finishes.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const { rows } = await sys.pool.query(
          `SELECT count(*) FILTER (WHERE d.status = 'succeeded')::int AS ok, count(*)::int AS n
             FROM deliveries d WHERE d.operator_id = $1`,
          [sender.id],
        );
        if (rows[0].ok === events.length * endpoints.length) break;
        assert.ok(Date.now() < deadline, `delivered ${rows[0].ok} of ${events.length * endpoints.length}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const e of events) await sys.client.workflow.getHandle(eventWorkflowId(sender.id, e.id)).result();
      const { rows: states } = await sys.pool.query(
        `SELECT status, count(*)::int AS n FROM events WHERE operator_id = $1 GROUP BY status`,
        [sender.id],
      );
      assert.deepEqual(states, [{ status: 'processed', n: events.length }]);

      // A repeated attempt keeps its webhook-id, so a receiver that deduplicates sees each event once.
      for (const path of endpoints) {
        const ids = webhookIdsByEvent(rx.requests(path));
        assert.equal(ids.size, events.length, `${path}: ${ids.size} distinct events`);
        for (const [eventId, set] of ids) assert.equal(set.size, 1, `${path}: ${eventId} under ${[...set]}`);
      }
    } finally {
      await rx.stop();
    }
  });
});

describe('when PostgreSQL is unreachable', () => {
  it('answers 503 and starts nothing', async () => {
    const deadPort = await freePort();
    const cut = await startSystem({
      temporalAddress: server.address,
      databaseUrl: `postgres://postgres@127.0.0.1:${deadPort}/nowhere`,
      worker: false,
    });
    try {
      const event = deposit(uniqueId('player'));
      const res = await cut.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'service_unavailable');
      await assert.rejects(
        sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id)).describe(),
        WorkflowNotFoundError,
      );
      assert.equal(await rowState(event.id), undefined);
    } finally {
      await cut.stop();
    }
  });
});
