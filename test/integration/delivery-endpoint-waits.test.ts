/**
 * Disabling or deleting an endpoint ends its waiting deliveries at once (issue 14, item 3): each one waiting
 * (pending or retrying) is cancelled through its event workflow with the reason `endpoint_disabled` or
 * `endpoint_deleted`, visible in the API, and the workflow completes when nothing else of it waits. Before,
 * they stayed `retrying` until their next attempt (an hour away here) and the workflow `Running` meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { endEndpointWaits } from '../../src/ingest/endpoint-waits.js';
import type { processEvent } from '../../workflows/process-event.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

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

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, json });

/** An endpoint of its own affiliate whose receiver fails once, then waits an hour to retry. */
async function failingEndpoint(affiliateId: string, path: string) {
  rx.script(path, [{ status: 500 }, { status: 500 }, { status: 500 }]);
  const res = await api('POST', '/v1/endpoints', {
    url: rx.url(path),
    eventTypes: ['*'],
    affiliateId,
    retryPolicy: { schedule: ['1h', '1h'], jitter: 0 },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function send(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return sys.client.workflow.getHandle<typeof processEvent>(eventWorkflowId(op.id, event.id as string));
}

async function deliveriesOf(eventId: string) {
  const res = await api('GET', `/v1/events/${eventId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.deliveries as {
    id: string;
    endpointId: string;
    status: string;
    lastError: string | null;
  }[];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends a registration and waits until its delivery to `endpointId` is retrying (an hour from now). */
async function waitingEvent(affiliateId: string, endpointIds: string[]) {
  const event = registration(uniqueId('player'), { attribution: { affiliateId } });
  const handle = await send(event);
  await until('the deliveries retrying', async () => {
    const ds = await deliveriesOf(event.id);
    const waiting = ds.filter((d) => endpointIds.includes(d.endpointId) && d.status === 'retrying');
    return waiting.length === endpointIds.length ? ds : undefined;
  });
  return { event, handle };
}

/** The workflow's result, or a failure after `ms` (a wait an hour long would otherwise hold the test). */
async function resultWithin<T>(handle: { result(): Promise<T> }, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the workflow was still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([handle.result(), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function statusOf(handle: { describe(): Promise<{ status: { name: string } }> }) {
  return (await handle.describe()).status.name;
}

describe('disabling or deleting an endpoint ends its waiting deliveries', () => {
  it('PATCH enabled:false cancels a delivery waiting an hour, with reason endpoint_disabled, and the workflow completes', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/disable-${affiliateId}`;
    const endpoint = await failingEndpoint(affiliateId, path);
    const { event, handle } = await waitingEvent(affiliateId, [endpoint.id]);
    assert.equal(await statusOf(handle), 'RUNNING');

    const started = Date.now();
    const off = await api('PATCH', `/v1/endpoints/${endpoint.id}`, { enabled: false });
    assert.equal(off.status, 200, JSON.stringify(off.body));

    // The workflow ends within seconds, not at the attempt an hour away.
    const result = await resultWithin(handle);
    assert.ok(Date.now() - started < 15_000, `ended after ${Date.now() - started} ms`);
    assert.deepEqual(
      result.deliveries.map((d) => [d.endpointId, d.status, d.lastError]),
      [[endpoint.id, 'cancelled', 'endpoint_disabled']],
    );
    assert.equal(await statusOf(handle), 'COMPLETED');
    const [d] = await deliveriesOf(event.id);
    assert.equal(d!.status, 'cancelled');
    assert.equal(d!.lastError, 'endpoint_disabled');
    const detail = await api('GET', `/v1/deliveries/${d!.id}`);
    assert.equal(detail.body.status, 'cancelled');
    assert.equal(detail.body.lastError, 'endpoint_disabled');
    assert.equal(detail.body.nextAttemptAt, null);
    assert.equal(detail.body.attempts.length, 1, 'no attempt after the disabling');
    assert.equal(rx.requests(path).length, 1);
  });

  it('DELETE cancels with reason endpoint_deleted; the workflow waits on for its other endpoint, and completes once that one is disabled too', async () => {
    const affiliateId = uniqueId('aff');
    const deleted = await failingEndpoint(affiliateId, `/delete-${affiliateId}`);
    const kept = await failingEndpoint(affiliateId, `/kept-${affiliateId}`);
    const { event, handle } = await waitingEvent(affiliateId, [deleted.id, kept.id]);

    assert.equal((await api('DELETE', `/v1/endpoints/${deleted.id}`)).status, 204);
    const afterDelete = await until('the deleted endpoint’s delivery cancelled', async () => {
      const ds = await deliveriesOf(event.id);
      return ds.find((d) => d.endpointId === deleted.id)?.status === 'cancelled' ? ds : undefined;
    });
    assert.deepEqual(
      afterDelete.map((d) => [d.endpointId, d.status, d.status === 'cancelled' ? d.lastError : null]).sort(),
      [
        [deleted.id, 'cancelled', 'endpoint_deleted'],
        [kept.id, 'retrying', null],
      ].sort(),
    );
    // Something still waits: the workflow goes on.
    assert.equal(await statusOf(handle), 'RUNNING');

    assert.equal((await api('PATCH', `/v1/endpoints/${kept.id}`, { enabled: false })).status, 200);
    const result = await resultWithin(handle);
    assert.deepEqual(
      result.deliveries.map((d) => [d.endpointId, d.status, d.lastError]).sort(),
      [
        [deleted.id, 'cancelled', 'endpoint_deleted'],
        [kept.id, 'cancelled', 'endpoint_disabled'],
      ].sort(),
    );
  });

  it('pages through the waiting deliveries, and a closed or unknown workflow neither fails the sweep nor keeps its delivery waiting', async () => {
    const affiliateId = uniqueId('aff');
    const endpoint = await failingEndpoint(affiliateId, `/sweep-${affiliateId}`);
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await waitingEvent(affiliateId, [endpoint.id]));
    // A delivery whose workflow has closed, and one whose workflow does not exist: rows left waiting.
    const closed = events.pop()!;
    await closed.handle.terminate('test: a workflow that closed with its delivery left waiting');
    const [closedDelivery] = await deliveriesOf(closed.event.id);
    const orphanId = `dlv_orphan${uniqueId('x').replace(/[^A-Za-z0-9]/g, '')}`;
    await sys.pool.query(
      `INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, retry_policy, workflow_id,
                               status, attempt_count)
       SELECT $1, operator_id, event_id, endpoint_id, 'orphan.' || event_type, retry_policy,
              'event:nowhere:' || $1, 'retrying', 1
         FROM deliveries WHERE id = $2`,
      [orphanId, closedDelivery!.id],
    );
    await sys.pool.query(`UPDATE endpoints SET enabled = false WHERE id = $1`, [endpoint.id]);

    const swept = await endEndpointWaits(
      { pool: sys.pool, client: () => sys.gateway.client() },
      op.id,
      endpoint.id,
      'endpoint_disabled',
      { batchSize: 2 },
    );
    assert.deepEqual(swept, { signalled: 2, closed: 2 });

    for (const { handle } of events) {
      const result = await resultWithin(handle);
      assert.deepEqual(
        result.deliveries.map((d) => [d.status, d.lastError]),
        [['cancelled', 'endpoint_disabled']],
      );
    }
    const { rows } = await sys.pool.query(
      `SELECT id, status, last_error FROM deliveries WHERE id = ANY($1) ORDER BY id`,
      [[closedDelivery!.id, orphanId]],
    );
    assert.deepEqual(
      rows.map((r) => [r.status, r.last_error]),
      [
        ['cancelled', 'endpoint_disabled'],
        ['cancelled', 'endpoint_disabled'],
      ],
    );
  });

  it('an endpoint enabled again before the sweep reaches its deliveries keeps them', async () => {
    const affiliateId = uniqueId('aff');
    const endpoint = await failingEndpoint(affiliateId, `/again-${affiliateId}`);
    const { event, handle } = await waitingEvent(affiliateId, [endpoint.id]);
    // Enabled again: a sweep that starts now (as one queued behind the disabling would) cancels nothing.
    const swept = await endEndpointWaits(
      { pool: sys.pool, client: () => sys.gateway.client() },
      op.id,
      endpoint.id,
      'endpoint_disabled',
    );
    assert.deepEqual(swept, { signalled: 0, closed: 0 });
    const [d] = await deliveriesOf(event.id);
    assert.equal(d!.status, 'retrying');
    await handle.terminate('test done');
  });

  it('an endpoint the worker disables (it answered 410) ends its other waiting deliveries too', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/gone-${affiliateId}`;
    const endpoint = await failingEndpoint(affiliateId, path);
    const waiting = await waitingEvent(affiliateId, [endpoint.id]);
    rx.script(path, [{ status: 410 }]);
    const gone = await send(registration(uniqueId('player'), { attribution: { affiliateId } }));
    const goneResult = await resultWithin(gone);
    assert.deepEqual(
      goneResult.deliveries.map((d) => d.status),
      ['failed'],
    );
    assert.equal((await api('GET', `/v1/endpoints/${endpoint.id}`)).body.disabledReason, 'gone');

    // The delivery that waited an hour for its retry ends now, not then.
    const result = await resultWithin(waiting.handle);
    assert.deepEqual(
      result.deliveries.map((d) => [d.status, d.lastError]),
      [['cancelled', 'endpoint_disabled']],
    );
    assert.equal(rx.requests(path).length, 2, 'one attempt each, nothing after the 410');
  });
});
