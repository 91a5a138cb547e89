import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/log.js';
import { installTemporalRuntime } from '../../src/main/host/runtime.js';
import { startMetricsServer } from '../../src/main/metrics-server.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { parseProm, valueOf, type Sample } from '../support/prom-text.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

let sdkPort: number;
let workerMetrics: Server;

/** A port free now (the SDK's exporter takes an address, not port 0). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

before(async () => {
  // Before startSystem, whose own install is then a no-op: the Runtime is installed once per process.
  sdkPort = await freePort();
  installTemporalRuntime(createLogger('silent'), { host: '127.0.0.1', port: sdkPort });
  sys = await startSystem();
  workerMetrics = startMetricsServer(sys.pool, '127.0.0.1', 0, createLogger('silent'));
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await new Promise((resolve) => workerMetrics?.close(resolve));
  await sys?.stop();
  await rx?.stop();
});

async function scrape(base = sys.baseUrl): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200, 'GET /metrics answers');
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return parseProm(await res.text());
}

async function statusesOf(eventId: string): Promise<string[]> {
  const res = await sys.request('GET', `/v1/deliveries?eventId=${eventId}`, { apiKey: op.apiKey });
  assert.equal(res.status, 200);
  return (res.body.data as { status: string }[]).map((d) => d.status).sort();
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) =>
  valueOf(after, name, labels) - valueOf(before, name, labels);

describe('GET /metrics', () => {
  it('counts intake, deliveries by outcome and status class, attempt time, and the backlog', async () => {
    const affiliateId = uniqueId('aff');
    for (const [path, retryPolicy] of [
      ['/ok', undefined],
      ['/fail', { schedule: ['200ms'], jitter: 0 }],
      ['/later', { schedule: ['1h'], jitter: 0 }],
    ] as const) {
      const res = await sys.request('POST', '/v1/endpoints', {
        apiKey: op.apiKey,
        json: { url: rx.url(path), eventTypes: ['*'], affiliateId, ...(retryPolicy ? { retryPolicy } : {}) },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    rx.script('/fail', [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    rx.script('/later', [{ status: 503 }, { status: 503 }]);
    const before = await scrape();

    const events = [0, 1].map(() => registration(uniqueId('player'), { attribution: { affiliateId } }));
    for (const event of events) {
      const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    const again = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: events[0] });
    assert.equal(again.status, 200);
    const conflict = await sys.request('POST', '/v1/events', {
      apiKey: op.apiKey,
      json: { ...events[0], occurredAt: '2020-01-01T00:00:00Z' },
    });
    assert.equal(conflict.status, 409);
    const invalid = await sys.request('POST', '/v1/events', {
      apiKey: op.apiKey,
      json: { ...events[1], type: 'no.such.type' },
    });
    assert.equal(invalid.status, 422);
    const batch = await sys.request('POST', '/v1/events/batch', {
      apiKey: op.apiKey,
      json: { events: [deposit(uniqueId('player')), { id: 'bad' }] },
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));

    for (const event of events)
      await until(
        'deliveries settled',
        () => statusesOf(event.id as string),
        (s) => s.join() === 'failed,retrying,succeeded',
      );
    const after = await scrape();

    const name = 'affiliate_hooks_events_accepted_total';
    assert.equal(delta(before, after, name, { source: 'api', duplicate: 'false' }), 2);
    assert.equal(delta(before, after, name, { source: 'api', duplicate: 'true' }), 1);
    assert.equal(delta(before, after, name, { source: 'batch', duplicate: 'false' }), 1);
    const refused = 'affiliate_hooks_events_refused_total';
    assert.equal(delta(before, after, refused, { source: 'api', reason: 'event_conflict' }), 1);
    assert.equal(delta(before, after, refused, { source: 'api', reason: 'validation_failed' }), 1);
    assert.equal(delta(before, after, refused, { source: 'batch', reason: 'invalid' }), 1);

    const attempts = 'affiliate_hooks_delivery_attempts_total';
    assert.equal(delta(before, after, attempts, { outcome: 'succeeded', status_class: '2xx' }), 2);
    assert.equal(delta(before, after, attempts, { outcome: 'failed', status_class: '5xx' }), 2);
    // Two from /later (its retry an hour away), two from /fail's first attempts.
    assert.equal(delta(before, after, attempts, { outcome: 'retrying', status_class: '5xx' }), 4);
    const duration = 'affiliate_hooks_delivery_attempt_duration_seconds_count';
    assert.equal(delta(before, after, duration, { format: 'webhook' }), 8);

    // The gauges come from PostgreSQL (cached 5 s): at least this test's backlog once the cache turns.
    const backlog = await until(
      'backlog gauges',
      async () => {
        const s = await scrape();
        return [
          valueOf(s, 'affiliate_hooks_deliveries_retrying'),
          valueOf(s, 'affiliate_hooks_deliveries_dead_lettered'),
        ];
      },
      ([retrying, failed]) => retrying! >= 2 && failed! >= 2,
    );
    assert.ok(backlog[0]! >= 2 && backlog[1]! >= 2);

    // Bounded labels only: no operator, customer, endpoint or URL anywhere in the exposition.
    const text = await (await fetch(`${sys.baseUrl}/metrics`)).text();
    for (const secret of [op.id, op.apiKey, affiliateId, rx.url('/ok'), events[0]!.id as string])
      assert.ok(!text.includes(secret), `metrics mention ${secret}`);
  });

  it('counts the commission entries a settlement books, by kind and currency, and times the step', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('player');
    const put = await sys.request('PUT', `/v1/affiliates/${affiliateId}`, {
      apiKey: op.apiKey,
      json: {
        name: 'Metrics',
        deal: {
          model: 'cpa',
          amount: '100.00',
          currency: 'EUR',
          qualification: { minFirstDeposit: '20.00' },
          holdPeriod: '1h',
          clawbackWindow: '90d',
        },
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const before = await scrape();
    const at = new Date(Date.now() - 60_000).toISOString();
    for (const event of [
      registration(customerId, { occurredAt: at, attribution: { affiliateId } }),
      deposit(customerId, { occurredAt: new Date().toISOString() }),
    ]) {
      const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    const after = await until(
      'the accrual counted',
      () => scrape(),
      (s) => delta(before, s, 'affiliate_hooks_commission_entries_total', { kind: 'accrual' }) >= 1,
    );
    assert.equal(
      delta(before, after, 'affiliate_hooks_commission_entries_total', { kind: 'accrual', currency: 'EUR' }),
      1,
    );
    const steps = 'affiliate_hooks_settlement_step_duration_seconds_count';
    assert.ok(delta(before, after, steps, { step: 'settle' }) >= 1, 'a settle step timed');
  });

  it('counts inbound events by source kind, and a refused verification under one reason only', async () => {
    const created = await sys.request('POST', '/v1/sources', {
      apiKey: op.apiKey,
      json: { name: 'metrics source', verification: { type: 'token' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, secret } = created.body as { id: string; secret: string };
    const before = await scrape();
    const ok = await sys.request('POST', `/v1/inbound/${id}/${secret}`, {
      json: deposit(uniqueId('player')),
    });
    assert.ok(ok.status === 200 || ok.status === 202, JSON.stringify(ok.body));
    for (const path of [`/v1/inbound/${id}/srctok_wrong`, '/v1/inbound/src_nosuchsource/srctok_x']) {
      const refused = await sys.request('POST', path, { json: deposit(uniqueId('player')) });
      assert.equal(refused.status, 401);
    }
    const after = await scrape();
    const accepted = 'affiliate_hooks_events_accepted_total';
    assert.equal(delta(before, after, accepted, { source: 'inbound', duplicate: 'false' }), 1);
    const refused = 'affiliate_hooks_events_refused_total';
    assert.equal(delta(before, after, refused, { source: 'inbound', reason: 'unverified' }), 2);
    assert.equal(delta(before, after, refused, { source: 'inbound' }), 2, 'no other reason told apart');
  });

  it('counts the waits for a rate-limited endpoint', async () => {
    const affiliateId = uniqueId('aff');
    const res = await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: { url: rx.url('/limited'), eventTypes: ['*'], affiliateId, rateLimitPerSecond: 1 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const before = await scrape();
    for (let i = 0; i < 3; i++) {
      const event = registration(uniqueId('player'), { attribution: { affiliateId } });
      const sent = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
    }
    await rx.waitFor('/limited', 3, 20_000);
    const after = await scrape();
    // Three sends in one second slot each: the second and third waited, in the process or as a retry.
    assert.ok(delta(before, after, 'affiliate_hooks_rate_limit_waits_total') >= 2);
  });

  it("serves the same registry on the worker's port, and the SDK's worker metrics on their own", async () => {
    const port = (workerMetrics.address() as AddressInfo).port;
    const worker = await scrape(`http://127.0.0.1:${port}`);
    assert.ok(valueOf(worker, 'affiliate_hooks_events_accepted_total') >= 3);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    const sdk = parseProm(await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text());
    assert.ok(
      sdk.some((s) => s.name.startsWith('temporal_')),
      `SDK metrics: ${[...new Set(sdk.map((s) => s.name))].slice(0, 5).join(', ')}`,
    );
  });
});
