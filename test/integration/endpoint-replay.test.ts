/**
 * Replaying an endpoint from the catch-up feed (issue 17 item 2): `POST /v1/endpoints/{id}/replay` sends the
 * endpoint again what it is subscribed to in a range of the feed, each item under the webhook-id of its
 * original delivery, as a workflow whose progress `GET /v1/endpoints/{id}/replays/{replayId}` shows. A
 * partner that was down catches up with nothing missing or repeated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startReplay } from '../../src/ingest/replay.js';
import { decodeFeedCursor } from '../../src/api/cursor.js';
import { findEndpoint } from '../../src/db/endpoints.js';
import { feedHorizon, findReplay, insertReplay } from '../../src/db/replays.js';
import { replayFeedPage } from '../../activities/replay.js';
import { temporalPorts } from '../../src/main/host/activity-deps.js';
import { eventually } from '../support/eventually.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver, type Received } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

type Operator = { id: string; apiKey: string };
interface Endpoint {
  id: string;
  secret: string;
}
interface Signed {
  webhookId: string;
  key: string;
}

const DOWN = Array.from({ length: 10_000 }, () => ({ status: 503 }));

async function api(op: Operator, method: string, path: string, json?: unknown) {
  return sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
}

async function send(op: Operator, event: Record<string, unknown>) {
  const res = await api(op, 'POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

async function createEndpoint(op: Operator, path: string, extra: Record<string, unknown>): Promise<Endpoint> {
  const res = await api(op, 'POST', '/v1/endpoints', {
    url: rx.url(path),
    retryPolicy: { schedule: ['200ms'], jitter: 0 },
    ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** The operator's whole feed now, and the cursor to go on from. */
async function feed(op: Operator, after?: string) {
  const res = await api(op, 'GET', `/v1/feed?limit=500${after ? `&after=${after}` : ''}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.hasMore, false);
  return res.body as {
    data: { cursor: string; payload: { type: string; data: { eventId: string } } }[];
    nextCursor: string;
  };
}

/**
 * The feed after `after` once it lists at least `count` items: an item is listed (and replayable) only
 * once no older transaction is open anywhere in the database, other test files' included.
 */
async function listed(op: Operator, after: string, count: number) {
  return eventually(`${count} items in the feed`, async () => {
    const f = await feed(op, after);
    return f.data.length >= count ? f : undefined;
  });
}

/** Each request verified as a receiver would (standardwebhooks), with its webhook-id and event/type. */
function verified(ep: Endpoint, reqs: Received[]): Signed[] {
  const wh = new Webhook(ep.secret);
  return reqs.map((r) => {
    const body = wh.verify(r.body, r.headers as Record<string, string>) as {
      type: string;
      data: { eventId: string };
    };
    return { webhookId: r.headers['webhook-id'] as string, key: `${body.data.eventId}/${body.type}` };
  });
}

async function deliveryRows(endpointId: string) {
  const { rows } = await sys.pool.query<{ id: string; event_id: string; event_type: string; status: string }>(
    'SELECT id, event_id, event_type, status FROM deliveries WHERE endpoint_id = $1 ORDER BY id',
    [endpointId],
  );
  return rows;
}

async function allEnded(endpointId: string, count: number, status: string) {
  return eventually(`${count} deliveries ${status}`, async () => {
    const rows = await deliveryRows(endpointId);
    return rows.length === count && rows.every((r) => r.status === status) ? rows : undefined;
  });
}

async function replay(op: Operator, ep: Endpoint, body: Record<string, unknown>) {
  const res = await api(op, 'POST', `/v1/endpoints/${ep.id}/replay`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.headers.get('location'), `/v1/endpoints/${ep.id}/replays/${res.body.id}`);
  assert.equal(res.body.status, 'running');
  return res.body as { id: string };
}

async function finished(op: Operator, ep: Endpoint, replayId: string) {
  return eventually(
    'the replay completed',
    async () => {
      const res = await api(op, 'GET', `/v1/endpoints/${ep.id}/replays/${replayId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.status === 'running' ? undefined : res.body;
    },
    60_000,
  );
}

/** Waits until `count` more requests than `seen` have arrived, then a little longer to catch extras. */
async function next(path: string, seen: number, count: number): Promise<Received[]> {
  await rx.waitFor(path, seen + count, 30_000);
  await new Promise((r) => setTimeout(r, 1_500));
  return rx.requests(path).slice(seen);
}

describe('replaying an endpoint from the feed', () => {
  it(
    'a partner down for a stretch gets every subscribed event after the cursor exactly once, under the webhook-id of its failed attempts; other types, affiliates and filtered events are not sent',
    { timeout: 180_000 },
    async () => {
      const op = await sys.createOperator();
      const aff = uniqueId('aff');
      const path = `/partner-${aff}`;
      const ep = await createEndpoint(op, path, {
        eventTypes: ['customer.registered', 'deposit.completed'],
        affiliateId: aff,
        filter: { field: 'country', eq: 'DE' },
      });

      // Before the outage: one registration, delivered.
      const c0 = registration(uniqueId('player'), { attribution: { affiliateId: aff } });
      await send(op, c0);
      await allEnded(ep.id, 1, 'succeeded');
      const before = await eventually('c0 in the feed', async () => {
        const f = await feed(op);
        return f.data.some((i) => i.payload.data.eventId === c0.id) ? f : undefined;
      });

      // The outage: every attempt answers 503 and each delivery is dead-lettered.
      rx.script(path, DOWN);
      const p1 = uniqueId('player');
      const c1 = registration(p1, { attribution: { affiliateId: aff } });
      const d1 = deposit(p1);
      const other = registration(uniqueId('player'), { attribution: { affiliateId: uniqueId('aff') } });
      const french = registration(uniqueId('player'), {
        attribution: { affiliateId: aff },
        data: { country: 'FR' },
      });
      for (const e of [c1, d1, other, french]) await send(op, e);
      const failed = await eventually('both deliveries dead-lettered', async () => {
        const rows = (await deliveryRows(ep.id)).filter((d) => d.event_id !== c0.id);
        return rows.length === 2 && rows.every((r) => r.status === 'failed') ? rows : undefined;
      });
      const original = new Map(failed.map((d) => [`${d.event_id}/${d.event_type}`, d.id]));
      const failedAttempts = verified(ep, rx.requests(path).slice(1));
      assert.ok(failedAttempts.length >= 4, 'two attempts each');
      for (const a of failedAttempts)
        assert.equal(a.webhookId, original.get(a.key), 'attempts carry the delivery id');

      // Back up: replay from before the outage.
      rx.script(path, []);
      const range = await listed(op, before.nextCursor, 5);
      const seen = rx.requests(path).length;
      const r1 = await replay(op, ep, { after: before.nextCursor });
      const got = verified(ep, await next(path, seen, 2));
      assert.deepEqual(
        got.map((g) => g.key).sort(),
        [`${c1.id}/customer.registered`, `${d1.id}/deposit.completed`].sort(),
      );
      for (const g of got)
        assert.equal(g.webhookId, original.get(g.key), 'the same webhook-id as the failed attempts');

      const done = await finished(op, ep, r1.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.scanned, range.data.length, 'every feed item after the cursor was read');
      assert.equal(done.progress.queued, 2);
      assert.equal(done.progress.resentSucceeded, 0);
      assert.equal(done.progress.skippedFiltered, 1, 'the French registration');
      assert.equal(
        done.progress.skippedNotSubscribed,
        range.data.length - 3,
        "deposit.ftd, the other affiliate's registration, operational events",
      );
      await allEnded(ep.id, 3, 'succeeded');

      // Replayed again up to the deposit: sent again (they succeeded), same webhook-ids, c0 and later items not.
      const depositItem = range.data.find(
        (i) => i.payload.data.eventId === d1.id && i.payload.type === 'deposit.completed',
      )!;
      const seen2 = rx.requests(path).length;
      const r2 = await replay(op, ep, { after: before.nextCursor, until: depositItem.cursor });
      const again = verified(ep, await next(path, seen2, 2));
      assert.deepEqual(again.map((g) => g.key).sort(), got.map((g) => g.key).sort());
      for (const g of again) assert.equal(g.webhookId, original.get(g.key));
      const done2 = await finished(op, ep, r2.id);
      assert.equal(done2.progress.queued, 2);
      assert.equal(done2.progress.resentSucceeded, 2);
      assert.ok(
        done2.progress.scanned < range.data.length || range.data.at(-1) === depositItem,
        '`until` ends the range',
      );

      // missingOnly (Svix's "replay missing"): everything in range has succeeded, nothing goes.
      const seen3 = rx.requests(path).length;
      const r3 = await replay(op, ep, { after: before.nextCursor, missingOnly: true });
      const done3 = await finished(op, ep, r3.id);
      assert.equal(done3.progress.queued, 0);
      assert.equal(done3.progress.skippedSucceeded, 2);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(rx.requests(path).length, seen3);

      const list = await api(op, 'GET', `/v1/endpoints/${ep.id}/replays`);
      assert.deepEqual(
        list.body.data.map((r: { id: string }) => r.id),
        [r3.id, r2.id, r1.id],
      );
    },
  );

  it(
    'an endpoint created after an event whose workflow is still running gets it through a new delivery, and the same webhook-id when replayed again',
    { timeout: 120_000 },
    async () => {
      const op = await sys.createOperator();
      const aff = uniqueId('aff');
      const slowPath = `/slow-${aff}`;
      const path = `/late-${aff}`;
      rx.script(slowPath, DOWN);
      // Keeps the event's workflow running: a long wait before its second attempt.
      await createEndpoint(op, slowPath, {
        eventTypes: ['customer.registered'],
        affiliateId: aff,
        retryPolicy: { schedule: ['10m'], jitter: 0 },
      });
      const start = await feed(op);
      const reg = registration(uniqueId('player'), { attribution: { affiliateId: aff } });
      await send(op, reg);
      await rx.waitFor(slowPath, 1);
      const ep = await createEndpoint(op, path, { eventTypes: ['customer.registered'], affiliateId: aff });
      await listed(op, start.nextCursor, 1);
      const workflowId = `event:${op.id}:${reg.id}`;
      assert.equal((await sys.client.workflow.getHandle(workflowId).describe()).status.name, 'RUNNING');

      const r1 = await replay(op, ep, { after: start.nextCursor });
      const [first] = verified(ep, await next(path, 0, 1));
      assert.equal(first!.key, `${reg.id}/customer.registered`);
      const [row] = await allEnded(ep.id, 1, 'succeeded');
      assert.equal(first!.webhookId, row!.id, 'a new delivery, whose id is the webhook-id');
      assert.equal((await finished(op, ep, r1.id)).progress.queued, 1);

      // The workflow still runs (the slow endpoint waits): it takes the succeeded delivery again.
      assert.equal((await sys.client.workflow.getHandle(workflowId).describe()).status.name, 'RUNNING');
      const r2 = await replay(op, ep, { after: start.nextCursor });
      const [second] = verified(ep, await next(path, 1, 1));
      assert.equal(second!.webhookId, first!.webhookId, 'the receiver can deduplicate it');
      assert.equal((await finished(op, ep, r2.id)).progress.resentSucceeded, 1);
      assert.equal((await deliveryRows(ep.id)).length, 1, 'no second delivery was made');
    },
  );

  it(
    'pages through a long range in bounded pages, continuing as new, and counts each item once',
    { timeout: 120_000 },
    async () => {
      const op = await sys.createOperator();
      const aff = uniqueId('aff');
      const path = `/paged-${aff}`;
      const ep = await createEndpoint(op, path, { eventTypes: ['customer.registered'], affiliateId: aff });
      const start = await feed(op);
      const regs = Array.from({ length: 7 }, () =>
        registration(uniqueId('player'), { attribution: { affiliateId: aff } }),
      );
      for (const r of regs) await send(op, r);
      await allEnded(ep.id, 7, 'succeeded');
      await listed(op, start.nextCursor, 7);
      const seen = rx.requests(path).length;
      const endpoint = (await findEndpoint(sys.pool, op.id, ep.id))!;
      const rep = await startReplay(
        {
          pool: sys.pool,
          client: async () => sys.client,
          taskQueue: sys.taskQueue,
          pageSize: 2,
          pagesPerRun: 2,
        },
        op.id,
        endpoint,
        { after: decodeFeedCursor(start.nextCursor, ['after']), until: null, missingOnly: false },
      );
      const got = verified(ep, await next(path, seen, 7));
      assert.equal(new Set(got.map((g) => g.key)).size, 7);
      assert.equal(got.length, 7);
      const done = await finished(op, ep, rep.id);
      assert.equal(done.progress.scanned, 7);
      assert.equal(done.progress.queued, 7);
      assert.equal(done.progress.pages, 4, 'pages of 2, the last one short');
      const runs = [];
      for await (const run of sys.client.workflow.list({ query: `WorkflowId = '${rep.workflowId}'` }))
        runs.push(run);
      assert.ok(runs.length >= 2, `continued as new: ${runs.length} run(s)`);
    },
  );

  it(
    'a page retried after its transaction committed signals what it queued again and queues and counts nothing twice; a cancelled replay stops at its next page',
    { timeout: 60_000 },
    async () => {
      const op = await sys.createOperator();
      const aff = uniqueId('aff');
      const path = `/retried-${aff}`;
      const ep = await createEndpoint(op, path, { eventTypes: ['customer.registered'], affiliateId: aff });
      const start = await feed(op);
      const reg = registration(uniqueId('player'), { attribution: { affiliateId: aff } });
      await send(op, reg);
      await allEnded(ep.id, 1, 'succeeded');
      await listed(op, start.nextCursor, 1);
      const id = `rpl_${uniqueId('t').replace(/[^A-Za-z0-9]/g, '')}`;
      await insertReplay(sys.pool, {
        id,
        operatorId: op.id,
        endpointId: ep.id,
        after: decodeFeedCursor(start.nextCursor, ['after']),
        untilExclusive: await feedHorizon(sys.pool),
        missingOnly: false,
        eventTypes: ['customer.registered'],
        affiliateId: aff,
        filter: null,
        workflowId: `replay:${op.id}:${id}`,
      });
      const deps = {
        pool: sys.pool,
        ports: temporalPorts({ pool: sys.pool, client: sys.client, taskQueue: sys.taskQueue }),
      };
      const input = { operatorId: op.id, replayId: id, page: 0, pageSize: 10 };
      const first = await replayFeedPage(deps, input);
      assert.equal(first.done, true);
      assert.equal(first.counts?.queued, 1);
      await rx.waitFor(path, 2);
      await allEnded(ep.id, 1, 'succeeded');
      const retried = await replayFeedPage(deps, input);
      assert.deepEqual(retried, { done: true, counts: null });
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(rx.requests(path).length, 2, 'the original delivery and one replay, no more');
      const row = (await findReplay(sys.pool, op.id, id))!;
      assert.equal(row.pages, 1);
      assert.equal(row.counts.queued, 1);
      assert.equal(row.status, 'completed');

      // A cancelled replay's next page stops there and sends nothing.
      const cancelledId = `${id}c`;
      await insertReplay(sys.pool, {
        ...{ id: cancelledId, operatorId: op.id, endpointId: ep.id, missingOnly: false, filter: null },
        after: decodeFeedCursor(start.nextCursor, ['after']),
        untilExclusive: await feedHorizon(sys.pool),
        eventTypes: ['customer.registered'],
        affiliateId: aff,
        workflowId: `replay:${op.id}:${cancelledId}`,
      });
      const cancel = await api(op, 'POST', `/v1/endpoints/${ep.id}/replays/${cancelledId}/cancel`);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.equal(cancel.body.status, 'cancelled');
      const stopped = await replayFeedPage(deps, { ...input, replayId: cancelledId });
      assert.deepEqual(stopped, { done: true, counts: null });
      const again = await api(op, 'POST', `/v1/endpoints/${ep.id}/replays/${cancelledId}/cancel`);
      assert.equal(again.body.status, 'cancelled', 'an ended replay is left as it was');
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(rx.requests(path).length, 2);
    },
  );

  it('refuses a cursor it did not issue, `until` not after `after`, an unknown or disabled endpoint, and queues nothing', async () => {
    const op = await sys.createOperator();
    const path = `/refused-${uniqueId('p')}`;
    const ep = await createEndpoint(op, path, { eventTypes: ['customer.registered'] });
    const start = await feed(op);
    await send(op, registration(uniqueId('player')));
    await allEnded(ep.id, 1, 'succeeded');
    const later = await feed(op);
    const listCursor = Buffer.from(JSON.stringify([new Date().toISOString(), 'x'])).toString('base64url');

    const cases: [string, unknown, number, string][] = [
      [ep.id, { after: 'not-a-cursor' }, 422, 'after'],
      [ep.id, { after: listCursor }, 422, 'after'],
      [ep.id, { after: start.nextCursor, until: 'nope' }, 422, 'until'],
      [ep.id, { after: later.nextCursor, until: start.nextCursor }, 422, 'until'],
      [ep.id, { after: start.nextCursor, since: 'yesterday' }, 422, 'since'],
      [ep.id, {}, 422, 'after'],
      ['ep_doesNotExist1', { after: start.nextCursor }, 404, ''],
    ];
    for (const [id, body, status, at] of cases) {
      const res = await api(op, 'POST', `/v1/endpoints/${id}/replay`, body);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error.code, 'string');
      if (at)
        assert.ok(
          res.body.error.details.some((d: { path: string }) => d.path === at),
          JSON.stringify(res.body),
        );
    }
    assert.equal((await api(op, 'PATCH', `/v1/endpoints/${ep.id}`, { enabled: false })).status, 200);
    const disabled = await api(op, 'POST', `/v1/endpoints/${ep.id}/replay`, { after: start.nextCursor });
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.error.code, 'endpoint_disabled');

    const { rows } = await sys.pool.query('SELECT 1 FROM endpoint_replays WHERE operator_id = $1', [op.id]);
    assert.equal(rows.length, 0, 'no replay recorded');
    assert.deepEqual(
      (await deliveryRows(ep.id)).map((d) => d.status),
      ['succeeded'],
    );
    const missing = await api(op, 'GET', `/v1/endpoints/${ep.id}/replays/rpl_doesNotExist1`);
    assert.equal(missing.status, 404);
  });
});
