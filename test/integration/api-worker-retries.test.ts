import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { workerTuning } from '../../src/main/host/worker.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * API_EMBEDDED_WORKER_RETRIES=false (issue 11, noisy neighbours): the API's embedded worker runs the event
 * workflows it starts and their local first attempts, and leaves every server-side activity (retries, waits
 * for a send slot or an endpoint's breaker) to the worker processes, so a neighbour's backlog never runs in
 * the event loop that accepts everyone's events. Two workers on one task queue, as `npm run dev` runs them.
 */
let api: System;
let worker: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  api = await startSystem({
    workerTuning: workerTuning({ API_EMBEDDED_WORKER_RETRIES: false }),
    workerIdentity: 'api-embedded',
  });
  worker = await startSystem({ taskQueue: api.taskQueue, workerIdentity: 'worker-process' });
  rx = await startReceiver();
  op = await api.createOperator();
});
after(async () => {
  await api?.stop();
  await worker?.stop();
  await rx?.stop();
});

describe("the API's embedded worker with API_EMBEDDED_WORKER_RETRIES=false", () => {
  it('runs the events it accepts and their local work, while every server-side attempt runs on the worker', async () => {
    const path = `/limited-${uniqueId('ep')}`;
    // A rate-limited endpoint: each of its deliveries is a server-side activity from the first attempt.
    const ep = await api.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: { url: rx.url(path), eventTypes: ['customer.registered'], rateLimitPerSecond: 20 },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const events = Array.from({ length: 8 }, () => registration(uniqueId('player')));
    for (const e of events)
      assert.equal((await api.request('POST', '/v1/events', { apiKey: op.apiKey, json: e })).status, 202);

    for (const e of events) {
      const handle = api.client.workflow.getHandle(eventWorkflowId(op.id, e.id));
      await handle.result();
      const history = (await handle.fetchHistory()).events ?? [];
      const activityOn = history.flatMap((x) =>
        x.activityTaskStartedEventAttributes ? [x.activityTaskStartedEventAttributes.identity] : [],
      );
      assert.ok(activityOn.length >= 1, 'the delivery ran as a server-side activity');
      assert.deepEqual(new Set(activityOn), new Set(['worker-process']), `${e.id}: ${activityOn.join()}`);
      // The eagerly started first task, with its local first attempt, ran in the API's worker.
      const first = history.find((x) => x.workflowTaskCompletedEventAttributes);
      assert.equal(first?.workflowTaskCompletedEventAttributes?.identity, 'api-embedded');
    }
    assert.equal(rx.requests(path).length, events.length, 'each event sent once');
  });
});
