/**
 * Batch ingest (issue #7, item 5): `POST /v1/events/batch` answers each item on its own (accepted,
 * duplicate, conflict, invalid with issues), in input order, and each item is as durable as a single
 * submission: accepted only once its workflow started, and a 503 when Temporal is away.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../../src/api/app.js';
import { createDeliveryRuntime } from '../../src/delivery/deps.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../../src/main/host/dev-server.js';
import { TemporalGateway } from '../../src/temporal/gateway.js';
import { testEnv } from '../support/env.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
});

const batch = (events: unknown, on: System = sys) =>
  on.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await sys.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function rows(eventIds: string[]) {
  const { rows } = await sys.pool.query(
    `SELECT event_id, workflow_started_at, acknowledged_at FROM events
      WHERE operator_id = $1 AND event_id = ANY($2)`,
    [op.id, eventIds],
  );
  return rows as { event_id: string; workflow_started_at: Date | null; acknowledged_at: Date | null }[];
}

async function runsOf(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of sys.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

describe('POST /v1/events/batch', () => {
  it('when a batch mixes valid, duplicate, conflicting and invalid items, then each is answered in order and exactly the valid new ones start', async () => {
    const customerId = uniqueId('player');
    const earlier = deposit(customerId);
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: earlier })).status, 202);
    const taken = deposit(customerId);
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: taken })).status, 202);

    const reg = registration(customerId);
    const dep = deposit(customerId);
    const badAmount = deposit(customerId, { data: { depositId: 'd-1', amount: 12.5, currency: 'EUR' } });
    const items = [
      reg, // 0 accepted
      earlier, // 1 duplicate of an accepted event
      badAmount, // 2 invalid
      { ...taken, data: { ...taken.data, amount: '99.00' } }, // 3 conflict with the stored body
      dep, // 4 accepted
      42, // 5 invalid, no id
      Object.fromEntries(Object.entries(dep).reverse()), // 6 the same as item 4: duplicate
      { ...dep, customerId: 'someone-else' }, // 7 same id as item 4, another body: conflict
    ];
    const res = await batch(items);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.results.map((r: { index: number; id: string | null; status: string }) => [
        r.index,
        r.id,
        r.status,
      ]),
      [
        [0, reg.id, 'accepted'],
        [1, earlier.id, 'duplicate'],
        [2, badAmount.id, 'invalid'],
        [3, taken.id, 'conflict'],
        [4, dep.id, 'accepted'],
        [5, null, 'invalid'],
        [6, dep.id, 'duplicate'],
        [7, dep.id, 'conflict'],
      ],
    );
    assert.deepEqual(
      res.body.results[2].issues.map((i: { path: string }) => i.path),
      ['data.amount'],
    );
    assert.equal(res.body.results[5].issues[0].path, '');
    assert.equal(res.body.results[0].workflowId, eventWorkflowId(op.id, reg.id));
    assert.equal(res.body.results[3].workflowId, undefined);

    // Exactly the valid new ones started, once each; the invalid one left nothing behind.
    for (const e of [reg, dep]) {
      const workflowId = eventWorkflowId(op.id, e.id);
      await sys.client.workflow.getHandle(workflowId).result();
      assert.equal(await runsOf(workflowId), 1);
    }
    assert.equal(await runsOf(eventWorkflowId(op.id, earlier.id)), 1);
    assert.equal(await workflowExists(eventWorkflowId(op.id, badAmount.id)), false);
    assert.deepEqual(
      (await rows([badAmount.id])).map((r) => r.event_id),
      [],
    );
    const got = await sys.request('GET', `/v1/events/${taken.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.data.amount, '50.00');
    const stored = await sys.request('GET', `/v1/events/${dep.id}`, { apiKey: op.apiKey });
    assert.equal(stored.body.customerId, customerId);

    // The same batch again: every valid item is now a duplicate and nothing new starts.
    const again = await batch(items);
    assert.deepEqual(
      again.body.results.map((r: { status: string }) => r.status),
      ['duplicate', 'duplicate', 'invalid', 'conflict', 'duplicate', 'invalid', 'duplicate', 'conflict'],
    );
    assert.equal(await runsOf(eventWorkflowId(op.id, dep.id)), 1);
  });

  it('records and starts a larger batch, each row started and acknowledged', async () => {
    const customerId = uniqueId('player');
    const events = [registration(customerId), ...Array.from({ length: 59 }, () => deposit(customerId))];
    const res = await batch(events);
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
    assert.deepEqual(
      res.body.results.map((r: { index: number; id: string; status: string }) => [r.index, r.id, r.status]),
      events.map((e, i) => [i, e.id, 'accepted']),
    );
    const stored = await rows(events.map((e) => e.id));
    assert.equal(stored.length, events.length);
    assert.ok(stored.every((r) => r.workflow_started_at && r.acknowledged_at));
    const results = await Promise.all(
      events.map((e) => sys.client.workflow.getHandle(eventWorkflowId(op.id, e.id)).result()),
    );
    // Same customer, so one FTD among them, whatever the order the workflows ran in.
    assert.equal(results.filter((r) => r.facts.ftd).length, 1);
  });

  describe('a malformed envelope is 422 and stores nothing', () => {
    const cases: [string, () => unknown][] = [
      ['no events', () => ({ events: [] })],
      ['more than 500 events', () => ({ events: Array.from({ length: 501 }, () => deposit('p-1')) })],
      ['events not an array', () => ({ events: deposit('p-1') })],
      ['a bare array', () => [deposit('p-1')]],
      ['an unknown field', () => ({ events: [deposit('p-1')], dryRun: true })],
    ];
    for (const [name, body] of cases) {
      it(name, async () => {
        const json = body() as { events?: { id: string }[] } | { id: string }[];
        const ids = (Array.isArray(json) ? json : Array.isArray(json.events) ? json.events : []).map(
          (e) => e.id,
        );
        const res = await sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json });
        assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.error.code, 'validation_failed');
        assert.equal((await rows(ids)).length, 0);
      });
    }

    it('and without an API key it is 401', async () => {
      const event = deposit('p-1');
      const res = await sys.request('POST', '/v1/events/batch', { json: { events: [event] } });
      assert.equal(res.status, 401);
      assert.equal((await rows([event.id])).length, 0);
    });
  });

  it('when Temporal is unreachable, then 503 with each item unavailable, and the retry accepts them', async () => {
    const env = testEnv();
    const dead = new TemporalGateway(`127.0.0.1:${await freePort()}`, 'default');
    const delivery = createDeliveryRuntime({
      SECRETS_ENCRYPTION_KEYS: env.encryptionKeys,
      SSRF_ALLOWLIST: [],
      HTTPS_ONLY: false,
    });
    const app = createApp({
      pool: sys.pool,
      accept: {
        client: () => dead.client(),
        start: { taskQueue: sys.taskQueue, eager: false, timeoutMs: 2_000 },
      },
      adminToken: env.adminToken,
      maxBodyBytes: 256 * 1024,
      logger: createLogger('silent'),
      temporalReady: () => dead.ready(),
      delivery,
      secretRotationGraceMs: 60_000,
      defaultTimeoutMs: 5_000,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const customerId = uniqueId('player');
      const events = [registration(customerId), deposit(customerId)];
      const invalid = deposit(customerId, { occurredAt: 'yesterday' });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events/batch`;
      const down = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [...events, invalid] }),
      });
      const body = (await down.json()) as any;
      assert.equal(down.status, 503, JSON.stringify(body));
      assert.ok(down.headers.get('retry-after'));
      assert.equal(body.error.code, 'service_unavailable');
      assert.deepEqual(
        body.results.map((r: { id: string; status: string }) => [r.id, r.status]),
        [
          [events[0]!.id, 'unavailable'],
          [events[1]!.id, 'unavailable'],
          [invalid.id, 'invalid'],
        ],
      );
      // Recorded (the reconciler would start them) but not acknowledged: nothing was promised.
      const kept = await rows(events.map((e) => e.id));
      assert.equal(kept.length, 2);
      assert.ok(kept.every((r) => r.workflow_started_at === null && r.acknowledged_at === null));
      for (const e of events) assert.equal(await workflowExists(eventWorkflowId(op.id, e.id)), false);

      const up = await batch([...events, invalid]);
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.deepEqual(
        up.body.results.map((r: { status: string }) => r.status),
        ['accepted', 'accepted', 'invalid'],
      );
      for (const e of events) await sys.client.workflow.getHandle(eventWorkflowId(op.id, e.id)).result();
      assert.ok((await rows(events.map((e) => e.id))).every((r) => r.acknowledged_at !== null));
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dead.close();
      delivery.http.close();
    }
  });
});
