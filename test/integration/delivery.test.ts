import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { retryDeliverySignal } from '../../workflows/definitions.js';
import { testEnv } from '../support/env.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

const execFileAsync = promisify(execFile);
const env = testEnv();
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

async function createEndpoint(path: string, body: Record<string, unknown> = {}) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['*'], ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; [k: string]: unknown };
}

async function send(event: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id as string));
}

async function deliveriesOf(eventId: string) {
  const res = await sys.request('GET', `/v1/deliveries?eventId=${eventId}`, { apiKey: op.apiKey });
  assert.equal(res.status, 200);
  return res.body.data as { id: string; status: string; endpointId: string; eventType: string }[];
}

async function deliveryDetail(id: string) {
  const res = await sys.request('GET', `/v1/deliveries/${id}`, { apiKey: op.apiKey });
  assert.equal(res.status, 200);
  return res.body;
}

/** Each test its own affiliate, so endpoints scoped to it see only that test's events. */
function scoped() {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('player');
  return { affiliateId, customerId, reg: registration(customerId, { attribution: { affiliateId } }) };
}

describe('signed webhook delivery', () => {
  it('when an event matches an endpoint, the receiver gets a POST the standardwebhooks library verifies', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/ok-${affiliateId}`;
    const endpoint = await createEndpoint(path, { affiliateId, headers: { 'X-Partner': '7' } });
    assert.match(endpoint.secret, /^whsec_/);

    const handle = await send(reg);
    const [req] = await rx.waitFor(path, 1);
    const payload = new Webhook(endpoint.secret).verify(
      req!.body,
      req!.headers as Record<string, string>,
    ) as any;
    assert.equal(payload.type, 'customer.registered');
    assert.equal(payload.data.eventId, reg.id);
    assert.deepEqual(payload.data.attribution, { affiliateId });
    assert.deepEqual(payload.data.details, { country: 'DE' });
    assert.equal(req!.headers['x-partner'], '7');
    assert.equal(req!.headers['content-type'], 'application/json');

    const result = await handle.result();
    assert.equal(result.deliveries.length, 1);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const [d] = await deliveriesOf(reg.id);
    assert.equal(req!.headers['webhook-id'], d!.id);
    const detail = await deliveryDetail(d!.id);
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0].statusCode, 200);
    assert.equal(detail.attempts[0].responseBody, 'ok');
  });

  it('a first deposit is delivered as deposit.completed and deposit.ftd to endpoints subscribed to each', async () => {
    const { affiliateId, customerId, reg } = scoped();
    const ftdPath = `/ftd-${affiliateId}`;
    const allPath = `/deposits-${affiliateId}`;
    await createEndpoint(ftdPath, { affiliateId, eventTypes: ['deposit.ftd'] });
    await createEndpoint(allPath, { affiliateId, eventTypes: ['deposit.*'] });
    await (await send(reg)).result();
    const first = deposit(customerId);
    await (await send(first)).result();
    const second = deposit(customerId);
    await (await send(second)).result();

    const ftd = rx.requests(ftdPath).map((r) => JSON.parse(r.body));
    assert.deepEqual(
      ftd.map((b) => [b.type, b.data.eventId]),
      [['deposit.ftd', first.id]],
    );
    const all = rx.requests(allPath).map((r) => JSON.parse(r.body));
    assert.deepEqual(
      all.map((b) => `${b.type}:${b.data.eventId}`).sort(),
      [`deposit.completed:${first.id}`, `deposit.completed:${second.id}`, `deposit.ftd:${first.id}`].sort(),
    );
  });

  it('a disabled endpoint and another affiliate’s endpoint receive nothing', async () => {
    const { affiliateId, reg } = scoped();
    const off = `/off-${affiliateId}`;
    const other = `/other-${affiliateId}`;
    await createEndpoint(off, { affiliateId, enabled: false });
    await createEndpoint(other, { affiliateId: `${affiliateId}-x` });
    const result = await (await send(reg)).result();
    assert.equal(result.deliveries.length, 0);
    assert.equal(rx.requests(off).length + rx.requests(other).length, 0);
  });
});

describe('outcomes and the retry policy', () => {
  it('follows the schedule, keeps the webhook-id, signs each attempt afresh, and logs every attempt', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/flaky-${affiliateId}`;
    rx.script(path, [
      { status: 500, body: 'boom' },
      { status: 302, headers: { location: '/elsewhere' } },
    ]);
    const endpoint = await createEndpoint(path, {
      affiliateId,
      retryPolicy: { schedule: ['1s', '2s'], jitter: 0 },
    });
    const result = await (await send(reg)).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');

    const reqs = rx.requests(path);
    assert.equal(reqs.length, 3);
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1);
    assert.equal(new Set(reqs.map((r) => r.headers['webhook-signature'])).size, 3);
    for (const r of reqs) new Webhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>);
    const gaps = [reqs[1]!.at - reqs[0]!.at, reqs[2]!.at - reqs[1]!.at];
    assert.ok(gaps[0]! >= 1000 && gaps[0]! < 1900, `first wait ~1s, was ${gaps[0]}`);
    assert.ok(gaps[1]! >= 2000 && gaps[1]! < 2900, `second wait ~2s, was ${gaps[1]}`);
    // Redirects are not followed: the receiver saw no request on /elsewhere.
    assert.equal(rx.requests('/elsewhere').length, 0);

    const detail = await deliveryDetail(result.deliveries[0]!.deliveryId);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, 302],
        [3, 200],
      ],
    );
    assert.equal(detail.attempts[0].responseBody, 'boom');
    assert.match(detail.attempts[1].error, /302/);
  });

  it('when the policy is exhausted the delivery is failed, the dead letter, with every attempt logged', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/down-${affiliateId}`;
    rx.script(path, [{ status: 503 }, { status: 500 }, { status: 502 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['200ms', '200ms'], jitter: 0 } });
    const result = await (await send(reg)).result();
    assert.equal(result.deliveries[0]!.status, 'failed');
    const detail = await deliveryDetail(result.deliveries[0]!.deliveryId);
    assert.equal(detail.status, 'failed');
    assert.equal(detail.attemptCount, 3);
    assert.deepEqual(
      detail.attempts.map((a: any) => a.statusCode),
      [503, 500, 502],
    );
    // No endpoint of this operator listens for operational events, so none was emitted (each costs a workflow).
    const { rows: ops } = await sys.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND type LIKE 'delivery.%'`,
      [op.id],
    );
    assert.equal(ops[0].n, 0);
    const failed = await sys.request('GET', `/v1/deliveries?status=failed&endpointId=${detail.endpointId}`, {
      apiKey: op.apiKey,
    });
    assert.deepEqual(
      failed.body.data.map((d: any) => d.id),
      [detail.id],
    );
  });

  it('when the endpoint answers 503 with Retry-After: 2, the next attempt waits at least 2 s', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/busy-${affiliateId}`;
    rx.script(path, [{ status: 503, headers: { 'retry-after': '2' } }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s'], jitter: 0 } });
    await (await send(reg)).result();
    const reqs = rx.requests(path);
    assert.equal(reqs.length, 2);
    const gap = reqs[1]!.at - reqs[0]!.at;
    assert.ok(gap >= 2000 && gap < 2900, `Retry-After 2 within [1s, 2s] clamp gives 2s, was ${gap}`);
  });

  it('when the endpoint answers 410, the delivery stops and the endpoint is disabled', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/gone-${affiliateId}`;
    rx.script(path, [{ status: 410 }]);
    const endpoint = await createEndpoint(path, {
      affiliateId,
      retryPolicy: { schedule: ['200ms'], jitter: 0 },
    });
    const result = await (await send(reg)).result();
    assert.equal(result.deliveries[0]!.status, 'failed');
    assert.equal(rx.requests(path).length, 1);
    const got = await sys.request('GET', `/v1/endpoints/${endpoint.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.enabled, false);
    assert.equal(got.body.disabledReason, 'gone');
  });

  it('a timeout fails the attempt and is retried', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/slow-${affiliateId}`;
    rx.script(path, [{ status: 200, delayMs: 1500 }]);
    await createEndpoint(path, {
      affiliateId,
      timeout: '500ms',
      retryPolicy: { schedule: ['200ms'], jitter: 0 },
    });
    const result = await (await send(reg)).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const detail = await deliveryDetail(result.deliveries[0]!.deliveryId);
    assert.equal(detail.attempts[0].statusCode, null);
    assert.match(detail.attempts[0].error, /^timeout/);
    assert.equal(detail.attempts[1].statusCode, 200);
  });
});

describe('driving deliveries by hand', () => {
  it('retry-now cuts a long wait short, and the Web UI query finds the stuck delivery meanwhile', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/stuck-${affiliateId}`;
    rx.script(path, [{ status: 500 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1h'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 1);
    const workflowId = eventWorkflowId(op.id, reg.id);

    // The attempt-failed signal has reached the workflow: it is findable as retrying.
    let found: string[] = [];
    for (let i = 0; i < 100 && !found.includes(workflowId); i++) {
      found = [];
      for await (const wf of sys.client.workflow.list({
        query: `DeliveryStatus = 'retrying' AND AffiliateId = '${affiliateId}' AND DeliveryAttempt >= 1`,
      })) {
        found.push(wf.workflowId);
      }
      if (!found.includes(workflowId)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(found, [workflowId]);
    // The same query, typed by an operator into the CLI (the Web UI's list filter is the same language).
    const cli = await execFileAsync(env.temporalCli!, [
      'workflow',
      'list',
      '--address',
      env.temporalAddress,
      '--query',
      `DeliveryStatus='retrying' AND AffiliateId='${affiliateId}'`,
      '--output',
      'json',
    ]);
    assert.deepEqual(
      (JSON.parse(cli.stdout) as { execution: { workflowId: string } }[]).map((w) => w.execution.workflowId),
      [workflowId],
    );
    const [d] = await deliveriesOf(reg.id);
    const waiting = await deliveryDetail(d!.id);
    assert.equal(waiting.status, 'retrying');
    assert.ok(new Date(waiting.nextAttemptAt).getTime() > Date.now() + 50 * 60_000);

    const started = Date.now();
    const retry = await sys.request('POST', `/v1/deliveries/${d!.id}/retry`, { apiKey: op.apiKey });
    assert.equal(retry.status, 202);
    const result = await handle.result();
    assert.ok(Date.now() - started < 10_000);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const detail = await deliveryDetail(d!.id);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, 200],
      ],
    );
  });

  it('retry-now while an attempt is on the wire sends nothing extra and answers 409 attempt_in_flight, click after click', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/inflight-${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 200, delayMs: 4_000 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 2);
    const [d] = await deliveriesOf(reg.id);
    for (let click = 0; click < 3; click++) {
      const retry = await sys.request('POST', `/v1/deliveries/${d!.id}/retry`, { apiKey: op.apiKey });
      assert.equal(retry.status, 409, JSON.stringify(retry.body));
      assert.equal(retry.body.error.code, 'attempt_in_flight');
    }
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 2);
    const detail = await deliveryDetail(d!.id);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, 200],
      ],
    );
  });

  it('a retryDelivery signal that races an attempt on the wire does not start a second send: the attempt’s own outcome counts', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/race-${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 200, delayMs: 4_000 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 2);
    const [d] = await deliveriesOf(reg.id);
    // What the API would send had it read the delivery a moment before the attempt started.
    await retryDeliveryDirect(handle, d!.id);
    await retryDeliveryDirect(handle, d!.id);
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 2);
    assert.equal((await deliveryDetail(d!.id)).attempts.length, 2);
  });

  it('cancel during an attempt on the wire aborts its request, logs it, and starts no other', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/cancel-inflight-${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 200, delayMs: 8_000 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s', '1s'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 2);
    const [d] = await deliveriesOf(reg.id);
    const started = Date.now();
    const cancel = await sys.request('POST', `/v1/deliveries/${d!.id}/cancel`, { apiKey: op.apiKey });
    assert.equal(cancel.status, 202);
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'cancelled');
    // The receiver was still holding attempt 2 (8 s): the workflow ended once the aborted attempt was done.
    assert.ok(Date.now() - started < 7_000, 'the request was aborted, not waited out');
    assert.equal(rx.requests(path).length, 2);
    const detail = await deliveryDetail(d!.id);
    assert.equal(detail.status, 'cancelled');
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, null],
      ],
    );
    assert.match(detail.attempts[1].error, /^cancelled/);
  });

  it('cancel during a slow local first attempt aborts its request within seconds, and logs it', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/cancel-local-${affiliateId}`;
    rx.script(path, [{ status: 200, delayMs: 8_000 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1s'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 1);
    const [d] = await deliveriesOf(reg.id);
    const started = Date.now();
    const cancel = await sys.request('POST', `/v1/deliveries/${d!.id}/cancel`, { apiKey: op.apiKey });
    assert.equal(cancel.status, 202);
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'cancelled');
    // A local attempt hears of no cancellation from Temporal while it runs: it asks PostgreSQL each second.
    assert.ok(Date.now() - started < 6_000, 'the local attempt was aborted, not waited out');
    assert.equal(rx.requests(path).length, 1);
    const detail = await deliveryDetail(d!.id);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [[1, null]],
    );
    assert.match(detail.attempts[0].error, /^cancelled/);
  });

  it('an attempt whose worker died on the wire is logged as outcome unknown before the next one', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/lost-${affiliateId}`;
    rx.script(path, [{ status: 500 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1h', '1h'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 1);
    const [d] = await deliveriesOf(reg.id);
    await waitForStatus(d!.id, 'retrying');
    // What a worker killed during attempt 2 leaves behind: its in-flight mark, never cleared by a log line.
    await sys.pool.query(
      `UPDATE deliveries SET in_flight_attempt = 2, in_flight_since = now() - interval '3 seconds' WHERE id = $1`,
      [d!.id],
    );
    const busy = await sys.request('POST', `/v1/deliveries/${d!.id}/retry`, { apiKey: op.apiKey });
    assert.equal(busy.status, 409);
    await handle.signal(retryDeliverySignal, { deliveryId: d!.id });
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const detail = await deliveryDetail(d!.id);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, null],
        [3, 200],
      ],
    );
    assert.equal(detail.attempts[1].error, 'unknown: outcome unknown: the worker stopped during the attempt');
    assert.equal(detail.attemptCount, 3);
  });

  it('cancel stops a waiting delivery', async () => {
    const { affiliateId, reg } = scoped();
    const path = `/cancel-${affiliateId}`;
    rx.script(path, [{ status: 500 }]);
    await createEndpoint(path, { affiliateId, retryPolicy: { schedule: ['1h'], jitter: 0 } });
    const handle = await send(reg);
    await rx.waitFor(path, 1);
    const [d] = await deliveriesOf(reg.id);
    const cancel = await sys.request('POST', `/v1/deliveries/${d!.id}/cancel`, { apiKey: op.apiKey });
    assert.equal(cancel.status, 202);
    const result = await handle.result();
    assert.equal(result.deliveries[0]!.status, 'cancelled');
    assert.equal((await deliveryDetail(d!.id)).status, 'cancelled');
    const again = await sys.request('POST', `/v1/deliveries/${d!.id}/cancel`, { apiKey: op.apiKey });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'delivery_finished');
    assert.equal(again.body.error.message, 'The delivery has already finished: it was cancelled.');
  });

  it('a failed delivery re-driven keeps its webhook-id and succeeds; range recovery counts and re-drives', async () => {
    const { affiliateId, customerId, reg } = scoped();
    const path = `/redrive-${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 500 }, { status: 500 }]);
    const endpoint = await createEndpoint(path, {
      affiliateId,
      retryPolicy: { schedule: ['100ms'], jitter: 0 },
    });
    await (await send(reg)).result();
    const dep = deposit(customerId);
    await (await send(dep)).result();
    // reg: attempts 1-2 failed; dep (deposit.completed + deposit.ftd): the third 500 fails one, the rest succeed.
    const [regDelivery] = await deliveriesOf(reg.id);
    assert.equal(regDelivery!.status, 'failed');

    const retry = await sys.request('POST', `/v1/deliveries/${regDelivery!.id}/retry`, { apiKey: op.apiKey });
    assert.equal(retry.status, 202);
    const redriven = await waitForStatus(regDelivery!.id, 'succeeded');
    assert.equal(redriven.attempts.length, 3);
    const ids = rx.requests(path).filter((r) => JSON.parse(r.body).data.eventId === reg.id);
    assert.equal(new Set(ids.map((r) => r.headers['webhook-id'])).size, 1);

    // Range recovery over the endpoint's remaining failed deliveries.
    const failedNow = (await deliveriesOf(dep.id)).filter((d) => d.status === 'failed');
    const since = new Date(Date.now() - 60_000).toISOString();
    const dry = await sys.request('POST', `/v1/endpoints/${endpoint.id}/recover`, {
      apiKey: op.apiKey,
      json: { since, dryRun: true },
    });
    assert.deepEqual(dry.body, { count: failedNow.length, dryRun: true });
    const real = await sys.request('POST', `/v1/endpoints/${endpoint.id}/recover`, {
      apiKey: op.apiKey,
      json: { since },
    });
    assert.equal(real.status, 202);
    assert.equal(real.body.count, failedNow.length);
    for (const d of failedNow) await waitForStatus(d.id, 'succeeded');
  });
});

async function waitForStatus(deliveryId: string, status: string) {
  for (let i = 0; i < 200; i++) {
    const detail = await deliveryDetail(deliveryId);
    if (detail.status === status) return detail;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`delivery ${deliveryId} never became ${status}`);
}

async function retryDeliveryDirect(
  handle: { signal: (...args: any[]) => Promise<void> },
  deliveryId: string,
) {
  await handle.signal(retryDeliverySignal, { deliveryId });
}
