/**
 * Who receives an event (issue #11): operational events (`delivery.*`, `endpoint.*`) only at endpoints that
 * name them, never through `*`; and an event goes to the endpoints subscribed when it was accepted (its
 * 202), not to whichever exist when its workflow happens to run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  findSubscribedEndpoints,
  findSubscriptions,
  insertEndpoint,
  newEndpointId,
} from '../../src/db/endpoints.js';
import { ALL_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from '../../src/domain/event-types.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { subscribes } from '../../src/domain/matching.js';
import type { ProcessEventResult } from '../../workflows/index.js';
import { startAcceptedEvent } from '../../src/temporal/start-event.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { recordOnly } from '../support/recorded.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;

before(async () => {
  sys = await startSystem({ health: { disableAfterMs: 60_000, failingAfterAttempts: 2 } });
  rx = await startReceiver();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

type Operator = { id: string; apiKey: string };

async function createEndpoint(on: System, op: Operator, path: string, body: Record<string, unknown>) {
  const res = await on.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

async function patchEndpoint(op: Operator, id: string, json: Record<string, unknown>) {
  const res = await sys.request('PATCH', `/v1/endpoints/${id}`, { apiKey: op.apiKey, json });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function send(on: System, op: Operator, event: Record<string, unknown>) {
  const res = await on.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

function resultOf(on: System, op: Operator, eventId: string): Promise<ProcessEventResult> {
  return on.client.workflow.getHandle(eventWorkflowId(op.id, eventId)).result();
}

/** The ids of the events a receiver path got (webhook bodies carry `data.eventId`). */
const eventIdsAt = (path: string) => rx.requests(path).map((r) => JSON.parse(r.body).data.eventId as string);

async function operationalRows(operatorId: string): Promise<string[]> {
  const { rows } = await sys.pool.query<{ type: string }>(
    'SELECT type FROM events WHERE operator_id = $1 AND type = ANY($2) ORDER BY type',
    [operatorId, OPERATIONAL_EVENT_TYPES],
  );
  return rows.map((r) => r.type);
}

describe('operational events go only to endpoints that name them', () => {
  /** An operator with a catch-all endpoint and an endpoint that fails until its schedule is exhausted. */
  async function failingScenario(opsTypes: string[] | null) {
    const op = await sys.createOperator();
    const all = `/all-${uniqueId('x')}`;
    const ops = `/ops-${uniqueId('x')}`;
    const sick = `/sick-${uniqueId('x')}`;
    await createEndpoint(sys, op, all, { eventTypes: ['*'] });
    if (opsTypes) await createEndpoint(sys, op, ops, { eventTypes: opsTypes });
    rx.script(sick, [{ status: 500 }, { status: 500 }, { status: 500 }]);
    await createEndpoint(sys, op, sick, {
      eventTypes: ['customer.registered'],
      retryPolicy: { schedule: ['100ms', '100ms'], jitter: 0 },
    });
    const reg = registration(uniqueId('player'));
    await send(sys, op, reg);
    const result = await resultOf(sys, op, reg.id);
    return { op, all, ops, sick, reg, result };
  }

  it('when only a * endpoint listens, a delivery failing then exhausted emits no operational event, and * hears nothing of it', async () => {
    const s = await failingScenario(null);
    const statuses = s.result.deliveries.map((d) => d.status).sort();
    assert.deepEqual(statuses, ['failed', 'succeeded']);
    assert.equal(rx.requests(s.sick).length, 3);
    // Time for any operational event the failures would have caused to be recorded and delivered.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(await operationalRows(s.op.id), []);
    const types = rx.requests(s.all).map((r) => JSON.parse(r.body).type as string);
    assert.deepEqual(types, ['customer.registered']);
  });

  it('when an endpoint subscribes to delivery.*, the same failure is recorded and delivered there, and still not to *', async () => {
    const s = await failingScenario(['delivery.*']);
    assert.deepEqual(s.result.deliveries.map((d) => d.status).sort(), ['failed', 'succeeded', 'succeeded']);
    const got = await rx.waitFor(s.ops, 2);
    assert.deepEqual(got.map((r) => JSON.parse(r.body).type).sort(), [
      'delivery.exhausted',
      'delivery.failing',
    ]);
    assert.deepEqual(await operationalRows(s.op.id), ['delivery.exhausted', 'delivery.failing']);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      rx.requests(s.all).map((r) => JSON.parse(r.body).type),
      ['customer.registered'],
    );
  });

  it('the fan-out query and the pure rule agree on every pattern, type and affiliate scope', async () => {
    const op = await sys.createOperator();
    const prefixes = [...new Set(ALL_EVENT_TYPES.map((t) => `${t.split('.')[0]}.*`))];
    const pattern = fc.constantFrom('*', ...ALL_EVENT_TYPES, ...prefixes, 'deposit.ft', 'delivery');
    const endpoint = fc.record({
      eventTypes: fc.array(pattern, { minLength: 1, maxLength: 3 }),
      affiliateId: fc.constantFrom(null, 'aff-1', 'aff-2'),
      enabled: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(endpoint, { minLength: 1, maxLength: 4 }),
        fc.subarray([...ALL_EVENT_TYPES], { minLength: 1, maxLength: 3 }),
        fc.constantFrom(null, 'aff-1', 'aff-2'),
        async (endpoints, types, affiliateId) => {
          await sys.pool.query('DELETE FROM endpoints WHERE operator_id = $1', [op.id]);
          const ids = new Map<string, (typeof endpoints)[number]>();
          for (const e of endpoints) {
            const id = newEndpointId();
            ids.set(id, e);
            await insertEndpoint(
              sys.pool,
              op.id,
              id,
              {
                url: 'https://example.com/hook',
                description: null,
                format: 'webhook',
                headers: {},
                retryPolicy: null,
                timeoutMs: 1_000,
                rateLimitPerSecond: null,
                postback: null,
                ...e,
              },
              'sealed',
            );
          }
          const expected = types.flatMap((type) =>
            [...ids].filter(([, e]) => subscribes(e, type, affiliateId)).map(([id]) => `${type} ${id}`),
          );
          const found = await findSubscriptions(sys.pool, op.id, types, affiliateId);
          assert.deepEqual(found.map((s) => `${s.eventType} ${s.endpoint.id}`).sort(), expected.sort());
          for (const type of types) {
            const one = await findSubscribedEndpoints(sys.pool, op.id, type, affiliateId);
            assert.deepEqual(
              one.map((e) => e.id).sort(),
              [...ids]
                .filter(([, e]) => subscribes(e, type, affiliateId))
                .map(([id]) => id)
                .sort(),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('an event goes to the endpoints subscribed when it was accepted', () => {
  const start = (op: Operator, event: { id: string; type: string; customerId: string }) =>
    startAcceptedEvent(sys.client, op.id, event, {
      taskQueue: sys.taskQueue,
      eager: false,
      timeoutMs: 5_000,
    });

  it('when a * endpoint is created right after a 200-event batch was answered, then it receives none of them, and the next event', async () => {
    // The batch is answered by a system without a worker, so none of its workflows has run when the
    // endpoint is created; a worker on the same task queue then runs them all.
    const idle = await startSystem({ worker: false });
    let busy: System | undefined;
    try {
      const op = await idle.createOperator();
      const customerId = uniqueId('player');
      const events = Array.from({ length: 200 }, () => deposit(customerId));
      const res = await idle.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.results.every((r: { status: string }) => r.status === 'accepted'));
      const path = `/late-${uniqueId('x')}`;
      const late = await createEndpoint(idle, op, path, { eventTypes: ['*'] });

      busy = await startSystem({ taskQueue: idle.taskQueue });
      const results = await Promise.all(events.map((e) => resultOf(busy!, op, e.id)));
      const toLate = results.flatMap((r) => r.deliveries).filter((d) => d.endpointId === late.id);
      assert.equal(toLate.length, 0);
      assert.equal(rx.requests(path).length, 0);

      const next = deposit(customerId);
      await send(busy, op, next);
      const [got] = await rx.waitFor(path, 1);
      assert.equal(JSON.parse(got!.body).data.eventId, next.id);
    } finally {
      await busy?.stop();
      await idle.stop();
    }
  });

  it('when a subscription changes from customer.* to deposit.* after acceptance, then each event goes by the subscription at its acceptance', async () => {
    const op = await sys.createOperator();
    const customerId = uniqueId('player');
    const path = `/moving-${uniqueId('x')}`;
    const endpoint = await createEndpoint(sys, op, path, { eventTypes: ['customer.*'] });
    const regBefore = registration(customerId);
    const depBefore = deposit(customerId);
    for (const e of [regBefore, depBefore]) await recordOnly(sys.pool, op.id, e);
    await patchEndpoint(op, endpoint.id, { eventTypes: ['deposit.*'] });
    const regAfter = registration(uniqueId('player'));
    const depAfter = deposit(customerId);
    for (const e of [regAfter, depAfter]) await recordOnly(sys.pool, op.id, e);

    for (const e of [regBefore, depBefore, regAfter, depAfter]) await start(op, e);
    for (const e of [regBefore, depBefore, regAfter, depAfter]) await resultOf(sys, op, e.id);
    assert.deepEqual(eventIdsAt(path).sort(), [regBefore.id, depAfter.id].sort());
  });

  it('when an endpoint is disabled after acceptance, then it receives nothing; disabled at acceptance and re-enabled, nothing either', async () => {
    const op = await sys.createOperator();
    const path = `/off-${uniqueId('x')}`;
    const endpoint = await createEndpoint(sys, op, path, { eventTypes: ['*'] });
    const accepted = registration(uniqueId('player'));
    await recordOnly(sys.pool, op.id, accepted);
    await patchEndpoint(op, endpoint.id, { enabled: false });
    const whileOff = registration(uniqueId('player'));
    await recordOnly(sys.pool, op.id, whileOff);
    await start(op, accepted);
    assert.deepEqual((await resultOf(sys, op, accepted.id)).deliveries, []);

    await patchEndpoint(op, endpoint.id, { enabled: true });
    await start(op, whileOff);
    assert.deepEqual((await resultOf(sys, op, whileOff.id)).deliveries, []);
    const after = registration(uniqueId('player'));
    await send(sys, op, after);
    await rx.waitFor(path, 1);
    assert.deepEqual(eventIdsAt(path), [after.id]);
  });
});
