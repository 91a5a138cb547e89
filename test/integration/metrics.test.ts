import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { parseProm, valueOf, type Sample } from '../support/prom-text.js';
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

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${sys.baseUrl}/metrics`);
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
      ['/gone', undefined],
      ['/later', { schedule: ['1h'], jitter: 0 }],
    ] as const) {
      const res = await sys.request('POST', '/v1/endpoints', {
        apiKey: op.apiKey,
        json: { url: rx.url(path), eventTypes: ['*'], affiliateId, ...(retryPolicy ? { retryPolicy } : {}) },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    rx.script('/gone', [{ status: 410 }, { status: 410 }]);
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
    assert.equal(delta(before, after, refused, { source: 'batch', reason: 'invalid' }), 1);

    const attempts = 'affiliate_hooks_delivery_attempts_total';
    assert.equal(delta(before, after, attempts, { outcome: 'succeeded', status_class: '2xx' }), 2);
    assert.equal(delta(before, after, attempts, { outcome: 'failed', status_class: '4xx' }), 2);
    assert.equal(delta(before, after, attempts, { outcome: 'retrying', status_class: '5xx' }), 2);
    const duration = 'affiliate_hooks_delivery_attempt_duration_seconds_count';
    assert.equal(delta(before, after, duration, { format: 'webhook' }), 6);

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
});
