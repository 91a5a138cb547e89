/**
 * Subscriptions as of acceptance (issue #11): an event goes to the endpoints that were enabled and
 * subscribed when it was accepted (its 202; a recorded event's insert), not to whichever exist when its
 * workflow happens to run. Disabling an endpoint still stops what it has not yet received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { startAcceptedEvent } from '../../src/temporal/start-event.js';
import type { ProcessEventResult } from '../../workflows/index.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { recordOnly } from '../support/recorded.js';
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
    const depBefore = deposit(uniqueId('player'));
    for (const e of [regBefore, depBefore]) await recordOnly(sys.pool, op.id, e);
    await patchEndpoint(op, endpoint.id, { eventTypes: ['deposit.*'] });
    const regAfter = registration(uniqueId('player'));
    const depAfter = deposit(uniqueId('player'));
    for (const e of [regAfter, depAfter]) await recordOnly(sys.pool, op.id, e);

    for (const e of [regBefore, depBefore, regAfter, depAfter]) await start(op, e);
    for (const e of [regBefore, depBefore, regAfter, depAfter]) await resultOf(sys, op, e.id);
    // A first deposit goes out twice (deposit.completed and deposit.ftd): count events, not requests.
    assert.deepEqual([...new Set(eventIdsAt(path))].sort(), [regBefore.id, depAfter.id].sort());
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
