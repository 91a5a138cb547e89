import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The breaker watch (src/ingest/breaker-watch.ts): a wake-up of deliveries waiting for an endpoint's breaker
 * that went missing is sent again, without waiting for another delivery of the endpoint to come or for
 * the waiting ones' recheck (10 minutes here: anything delivered within the limits below was woken). The
 * breaker opens after 5 failed attempts in a row and probes after 1 s, doubling to 4 s; the watch looks
 * every half second and wakes a prober 5 s after its probe was due.
 */
const BREAKER = { failureThreshold: 5, probeBaseMs: 1_000, probeMaxMs: 4_000, recheckMs: 600_000 };

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem({ breaker: BREAKER, breakerWatchMs: 500 });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

/** A failing endpoint whose deliveries retry every 5 s for 250 s (longer than any limit below), and 8 of them. */
async function failingEndpointWithBacklog(path: string, affiliateId: string) {
  rx.script(
    path,
    Array.from({ length: 10_000 }, () => ({ status: 503 })),
  );
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: {
      url: rx.url(path),
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: Array.from({ length: 50 }, () => '5s'), jitter: 0 },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const events = Array.from({ length: 8 }, () =>
    registration(uniqueId('player'), { attribution: { affiliateId } }),
  );
  const sent = await sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  return res.body as { id: string; secret: string };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitingFor(endpointId: string, n: number) {
  await until(`${n} deliveries waiting for the breaker`, async () => {
    const { rows } = await sys.pool.query(
      'SELECT 1 FROM deliveries WHERE endpoint_id = $1 AND breaker_wait_since IS NOT NULL',
      [endpointId],
    );
    return rows.length >= n ? rows : undefined;
  });
}

async function deliveredOnce(endpoint: { id: string; secret: string }, path: string, count: number) {
  await until(
    `all ${count} delivered`,
    async () => {
      const { rows } = await sys.pool.query<{ status: string }>(
        'SELECT status FROM deliveries WHERE endpoint_id = $1',
        [endpoint.id],
      );
      return rows.length === count && rows.every((r) => r.status === 'succeeded') ? rows : undefined;
    },
    45_000,
  );
  // One 2xx in each delivery's log, every request logged, every body verified.
  const { rows: attempts } = await sys.pool.query<{ ok: number; total: number }>(
    `SELECT count(*) FILTER (WHERE a.status_code BETWEEN 200 AND 299)::int AS ok, count(*)::int AS total
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
      WHERE d.endpoint_id = $1 GROUP BY d.id`,
    [endpoint.id],
  );
  assert.ok(
    attempts.every((a) => a.ok === 1),
    JSON.stringify(attempts),
  );
  const requests = rx.requests(path);
  assert.equal(
    requests.length,
    attempts.reduce((n, a) => n + a.total, 0),
  );
  const wh = new Webhook(endpoint.secret);
  assert.equal(webhookIdsByEvent(requests, (r) => wh.verify(r.body, r.headers as any) as any).size, count);
}

describe('waiting deliveries whose wake-up was lost, with no delivery of the endpoint to come', () => {
  it('are swept by the watch when the breaker closed and its sweep was lost', async () => {
    const aff = uniqueId('aff');
    const path = `/lost-sweep-quiet-${aff}`;
    const endpoint = await failingEndpointWithBacklog(path, aff);
    // Seven wait (the named prober until its probe, the rest on their recheck); the eighth, whose probe
    // failed last, is back on its schedule (5 s) or on the wire.
    await waitingFor(endpoint.id, 7);
    // As if the worker whose attempt closed the breaker stopped before its sweep, 20 s ago. The loads still
    // to come (the prober's within 4 s, the eighth's within 5 s) are too early to sweep again (30 s after
    // the last), and nothing else is sent to the endpoint: only the watch wakes the other six. The receiver
    // recovers after the close, so no attempt can close the breaker itself.
    await sys.pool.query(
      `UPDATE endpoints SET breaker_opened_at = NULL, breaker_probe_at = NULL, breaker_prober = NULL,
              breaker_probe_started_at = NULL, consecutive_failures = 0, breaker_last_failed = NULL,
              breaker_swept_at = now() - interval '20 seconds'
        WHERE id = $1`,
      [endpoint.id],
    );
    rx.script(path, []);
    await deliveredOnce(endpoint, path, 8);
  });

  it('have the named prober woken by the watch when its probe is overdue, not left to its recheck', async () => {
    const aff = uniqueId('aff');
    const path = `/lost-prober-${aff}`;
    const endpoint = await failingEndpointWithBacklog(path, aff);
    await waitingFor(endpoint.id, 3);
    // As if the wake handing the probe to a waiting delivery never reached its run: it is named, and sleeps
    // on its recheck (10 minutes); no other delivery may take the probe while it is pending. First named
    // with the probe an hour away, so no probe goes out while the others settle into their waits.
    const { rows } = await sys.pool.query<{ id: string }>(
      `UPDATE endpoints e SET breaker_prober = w.id, breaker_probe_started_at = NULL,
              breaker_probe_at = now() + interval '1 hour'
         FROM (SELECT d.id FROM deliveries d JOIN endpoints x ON x.id = d.endpoint_id
                WHERE d.endpoint_id = $1 AND d.breaker_wait_since IS NOT NULL
                  AND d.id IS DISTINCT FROM x.breaker_prober
                ORDER BY d.breaker_wait_since DESC LIMIT 1) w
        WHERE e.id = $1 AND e.breaker_opened_at IS NOT NULL
        RETURNING w.id`,
      [endpoint.id],
    );
    assert.equal(rows.length, 1, 'a waiting delivery named');
    // A probe on the wire fails (and, not the named prober's, hands nothing on); a delivery on its schedule
    // (5 s) loads, is held and sleeps on its recheck.
    await new Promise((r) => setTimeout(r, 6_000));
    // Now the probe is due, the receiver is back, and every delivery sleeps.
    const { rows: named } = await sys.pool.query(
      `UPDATE endpoints SET breaker_probe_at = now() WHERE id = $1
       RETURNING breaker_prober, breaker_probe_started_at`,
      [endpoint.id],
    );
    assert.deepEqual(named[0], { breaker_prober: rows[0]!.id, breaker_probe_started_at: null });
    rx.script(path, []);
    await deliveredOnce(endpoint, path, 8);
  });
});
