import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { eventWorkflowId } from '../../src/domain/ids.js';
import type { processEvent } from '../../workflows/process-event.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * A failed attempt costs its server-side retry alone (issue 16): the workflow hears of a delivery's change
 * of state (its first failure, its end), not of every failed attempt, so its history does not grow with
 * the attempts and no signal or search-attribute upsert is spent per attempt. The live attempt count
 * stays in PostgreSQL, which the REST API reads.
 */
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

async function createEndpoint(path: string, body: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['*'], ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function deliveryOf(eventId: string) {
  const res = await sys.request('GET', `/v1/deliveries?eventId=${eventId}`, { apiKey: op.apiKey });
  assert.equal(res.status, 200);
  return (res.body.data as { id: string; status: string; attemptCount: number; nextAttemptAt: string }[])[0];
}

async function historyOf(workflowId: string): Promise<HistoryEvent[]> {
  const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events ?? [];
}

/** How many history events of each kind: signals, delivery search-attribute upserts, workflow tasks. */
function countOf(events: HistoryEvent[]) {
  return {
    total: events.length,
    signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length,
    // The delivery attributes' upserts (an upsert of AffiliateId alone, at the start, is not about them).
    upserts: events.filter(
      (e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.DeliveryStatus,
    ).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('a failed attempt costs its retry alone', () => {
  it('a delivery that fails 6 times server-side after its local first attempt adds no signal, upsert or workflow task per attempt', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const path = `/flaky-${affiliateId}`;
    const fails = 7; // the local first attempt, then 6 server-side retries, then a success
    rx.script(
      path,
      Array.from({ length: fails }, () => ({ status: 500, body: 'down' })),
    );
    const schedule = Array.from({ length: fails }, () => '200ms');
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule, jitter: 0 } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(result.deliveries[0]!.attemptCount, fails + 1);
    assert.equal(rx.requests(path).length, fails + 1);

    const cost = countOf(await historyOf(workflowId));
    console.log(`history after ${fails} failed attempts: ${JSON.stringify(cost)}`);
    // The first failure reached the workflow as the local attempt's result: no signal at all.
    assert.equal(cost.signals, 0, `signals: ${cost.signals}`);
    // Two changes of state, pending -> retrying -> succeeded: two upserts, whatever the attempts.
    assert.ok(cost.upserts <= 2, `upserts: ${cost.upserts}`);
    // Start, the local attempts, the wait after the first failure, the server-side activity's end: a
    // handful of workflow tasks, not one per attempt.
    assert.ok(cost.workflowTasks <= 5, `workflow tasks: ${cost.workflowTasks}`);
  });

  it('a delivery whose first attempt fails and whose retry, due within seconds, succeeds costs that timer and attempt alone: no upsert, no signal, no activity task', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const path = `/once-${affiliateId}`;
    rx.script(path, [{ status: 503, body: 'busy' }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s', '1h'], jitter: 0 } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(result.deliveries[0]!.attemptCount, 2);
    assert.equal(rx.requests(path).length, 2);
    // Both attempts are in the log, as always.
    const delivery = await deliveryOf(reg.id);
    const detail = await sys.request('GET', `/v1/deliveries/${delivery!.id}`, { apiKey: op.apiKey });
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    assert.deepEqual(
      (detail.body.attempts as { statusCode: number }[]).map((a) => a.statusCode).sort(),
      [200, 503],
    );

    const events = await historyOf(workflowId);
    const cost = countOf(events);
    console.log(`history after one failed attempt and a quick retry: ${JSON.stringify(cost)}`);
    // The happy path's cost plus the retry's timer and its local attempt: nothing published, no patch marker.
    assert.equal(cost.upserts, 0, `upserts: ${cost.upserts}`);
    assert.equal(cost.signals, 0, `signals: ${cost.signals}`);
    assert.equal(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.timerStartedEventAttributes).length, 1);
    assert.equal(
      events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
      2,
      'two local attempts (the API applied the event before the start)',
    );
  });

  it('a delivery whose quick retry fails too is published as retrying and goes on server-side', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const path = `/twice-${affiliateId}`;
    rx.script(path, [
      { status: 503, body: 'busy' },
      { status: 503, body: 'busy' },
    ]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s', '1h'], jitter: 0 } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const waiting = await until('two failed attempts and the hour wait', async () => {
      const d = await deliveryOf(reg.id);
      return d?.attemptCount === 2 ? d : undefined;
    });
    assert.equal(waiting.status, 'retrying');
    await until('the workflow listed as retrying', async () => {
      for await (const wf of sys.client.workflow.list({
        query: `DeliveryStatus = 'retrying' AND AffiliateId = '${affiliateId}'`,
      })) {
        if (wf.workflowId === workflowId) return true;
      }
      return undefined;
    });
    const retry = await sys.request('POST', `/v1/deliveries/${waiting.id}/retry`, { apiKey: op.apiKey });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 3);
    const cost = countOf(await historyOf(workflowId));
    assert.equal(cost.upserts, 2, `retrying, then succeeded: ${cost.upserts}`);
    assert.equal(cost.signals, 1, 'the retry-now');
  });

  it('a delivery whose first attempt runs server-side signals its workflow once, on its first failure; the REST API shows each attempt meanwhile', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const path = `/limited-${affiliateId}`;
    // A rate-limited endpoint: every attempt is an ordinary activity, the first one included.
    rx.script(
      path,
      Array.from({ length: 5 }, () => ({ status: 503, body: 'busy' })),
    );
    const schedule = [...Array.from({ length: 4 }, () => '200ms'), '1h'];
    await createEndpoint(path, {
      affiliateId,
      rateLimitPerSecond: 50,
      retryPolicy: { schedule, jitter: 0 },
    });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);

    // Five failed attempts, then the hour's wait: PostgreSQL (the REST API) has the live figures.
    const waiting = await until('five failed attempts and the hour wait', async () => {
      const d = await deliveryOf(reg.id);
      return d?.attemptCount === 5 ? d : undefined;
    });
    assert.equal(waiting.status, 'retrying');
    assert.ok(Date.parse(waiting.nextAttemptAt) > Date.now() + 50 * 60_000, waiting.nextAttemptAt);
    // Findable as retrying in the Web UI: the one signal (pending -> retrying) was upserted.
    await until('the workflow listed as retrying', async () => {
      for await (const wf of sys.client.workflow.list({
        query: `DeliveryStatus = 'retrying' AND AffiliateId = '${affiliateId}'`,
      })) {
        if (wf.workflowId === workflowId) return true;
      }
      return undefined;
    });
    const cost = countOf(await historyOf(workflowId));
    console.log(`history after 5 failed server-side attempts: ${JSON.stringify(cost)}`);
    assert.equal(cost.signals, 1, `signals: ${cost.signals}`);
    assert.ok(cost.upserts <= 1, `upserts: ${cost.upserts}`);

    // Retry-now still cuts the wait short.
    const retry = await sys.request('POST', `/v1/deliveries/${waiting.id}/retry`, { apiKey: op.apiKey });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal((await deliveryOf(reg.id))?.attemptCount, 6);
  });
});
