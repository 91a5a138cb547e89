import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Per-endpoint circuit breaker: an endpoint that failed its last attempts is probed by one delivery at a
 * time while the others wait (no request, no attempt spent), and once a probe succeeds every waiting
 * delivery goes out. This system opens a breaker after 5 failed attempts in a row and probes after 1 s,
 * then 2 s, 4 s, 4 s... (a base of 1 s doubling to a cap of 4 s). Waiting deliveries re-check on their own
 * only after 10 minutes: anything delivered sooner was woken by the probe that closed the breaker.
 */
const BREAKER = { failureThreshold: 5, probeBaseMs: 1_000, probeMaxMs: 4_000, recheckMs: 600_000 };
/** The window over which the dead endpoint's requests are counted. */
const WINDOW_MS = 10_000;

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem({ breaker: BREAKER });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

async function createEndpoint(path: string, affiliateId: string, body: Record<string, unknown> = {}) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['customer.registered'], affiliateId, ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

async function sendMany(affiliateId: string, count: number) {
  const events = Array.from({ length: count }, () =>
    registration(uniqueId('player'), { attribution: { affiliateId } }),
  );
  const res = await sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return events;
}

/** Polls until `probe` answers; on timeout the error says what `explain` reads of the state then. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  explain?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) {
      const state = explain ? `\n${await explain().catch((err: Error) => err.message)}` : '';
      throw new Error(`not within ${timeoutMs} ms: ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An endpoint's breaker columns and its deliveries, for a failure message: what held them. */
async function breakerStateOf(endpointId: string): Promise<string> {
  const ep = await sys.pool.query(
    `SELECT breaker_opened_at, breaker_probe_at, breaker_prober, breaker_probe_started_at, breaker_swept_at,
            breaker_probes_failed, consecutive_failures, now() FROM endpoints WHERE id = $1`,
    [endpointId],
  );
  const ds = await sys.pool.query(
    `SELECT id, status, attempt_count, redrive_count, breaker_wait_since, in_flight_attempt, next_attempt_at,
            last_error, updated_at FROM deliveries WHERE endpoint_id = $1 ORDER BY id`,
    [endpointId],
  );
  return [
    `endpoint ${JSON.stringify(ep.rows[0])}`,
    ...ds.rows.map((r) => `delivery ${JSON.stringify(r)}`),
  ].join('\n');
}

describe('an endpoint that fails every attempt, with 50 deliveries pending', () => {
  it(
    'is probed about once per backoff instead of by every delivery; once it recovers all 50 arrive exactly once, none dead-lettered, while a healthy endpoint of the same operator flows',
    { timeout: 180_000 },
    async (t) => {
      const deadAff = uniqueId('aff');
      const healthyAff = uniqueId('aff');
      const dead = `/dead-${deadAff}`;
      const healthy = `/healthy-${healthyAff}`;
      rx.script(
        dead,
        Array.from({ length: 100_000 }, () => ({ status: 503 })),
      );
      // Without the breaker each delivery would try again every 2 s, 51 times. Its schedule's time (100 s)
      // outlasts the scenario: a waiting delivery that is not woken would wait until then, past the limit
      // the recovery below is given.
      const deadEndpoint = await createEndpoint(dead, deadAff, {
        retryPolicy: { schedule: Array.from({ length: 50 }, () => '2s'), jitter: 0 },
      });
      await createEndpoint(healthy, healthyAff);

      const backlog = await sendMany(deadAff, 50);
      // First attempts already on the wire when the threshold's failures are logged still land: the window
      // starts once they have.
      await rx.waitFor(dead, BREAKER.failureThreshold, 30_000);
      await new Promise((r) => setTimeout(r, 2_000));
      const before = rx.requests(dead).length;
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const inWindow = rx.requests(dead).length - before;
      t.diagnostic(
        `${inWindow} requests to the dead endpoint in ${WINDOW_MS} ms (bound ${Math.floor(WINDOW_MS / BREAKER.probeBaseMs) + 1})`,
      );
      // Probes are at least probeBaseMs apart (the backoff only grows), plus one already due.
      const bound = Math.floor(WINDOW_MS / BREAKER.probeBaseMs) + 1;
      assert.ok(
        inWindow <= bound,
        `${inWindow} requests in ${WINDOW_MS} ms; at most ${bound} probes allowed`,
      );

      // The API shows the breaker, and the deliveries waiting for it.
      const ep = await sys.request('GET', `/v1/endpoints/${deadEndpoint.id}`, { apiKey: op.apiKey });
      assert.ok(['open', 'half_open'].includes(ep.body.breaker.state), JSON.stringify(ep.body.breaker));
      assert.ok(ep.body.breaker.since);
      const listed = await sys.request('GET', `/v1/deliveries?endpointId=${deadEndpoint.id}&limit=100`, {
        apiKey: op.apiKey,
      });
      const waiting = listed.body.data.filter((d: any) => d.waitingFor === 'endpoint_breaker');
      assert.ok(waiting.length >= 40, `${waiting.length} deliveries say they wait for the breaker`);

      // A healthy endpoint of the same operator is not held by it.
      const others = await sendMany(healthyAff, 10);
      const healthyArrivals = await rx.waitFor(healthy, 10, 30_000);
      assert.equal(new Set(healthyArrivals.map((r) => JSON.parse(r.body).data.eventId)).size, others.length);

      // The receiver recovers: the next probe succeeds and wakes every waiting delivery.
      rx.script(dead, []);
      const rows = await until(
        'all 50 deliveries succeeded',
        async () => {
          const { rows } = await sys.pool.query<{ id: string; status: string; attempt_count: number }>(
            'SELECT id, status, attempt_count FROM deliveries WHERE endpoint_id = $1',
            [deadEndpoint.id],
          );
          return rows.length === 50 && rows.every((r) => r.status === 'succeeded') ? rows : undefined;
        },
        45_000,
      );
      assert.equal(rows.length, 50);

      // Exactly once each: one 2xx per delivery in its log, one webhook-id per event, every body verified,
      // and the receiver saw as many requests as the logs hold attempts.
      const { rows: attempts } = await sys.pool.query<{ ok: number; total: number }>(
        `SELECT count(*) FILTER (WHERE a.status_code BETWEEN 200 AND 299)::int AS ok, count(*)::int AS total
           FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE d.endpoint_id = $1 GROUP BY d.id`,
        [deadEndpoint.id],
      );
      assert.ok(attempts.every((a) => a.ok === 1));
      const wh = new Webhook(deadEndpoint.secret);
      const requests = rx.requests(dead);
      const ids = webhookIdsByEvent(requests, (r) => wh.verify(r.body, r.headers as any) as any);
      assert.deepEqual(new Set(ids.keys()), new Set(backlog.map((e) => e.id)));
      for (const set of ids.values()) assert.equal(set.size, 1);
      assert.equal(
        attempts.reduce((n, a) => n + a.total, 0),
        requests.length,
      );

      const closed = await sys.request('GET', `/v1/endpoints/${deadEndpoint.id}`, { apiKey: op.apiKey });
      assert.equal(closed.body.breaker.state, 'closed');
      const { rows: healthyRows } = await sys.pool.query<{ status: string; attempt_count: number }>(
        `SELECT d.status, d.attempt_count FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
          WHERE e.affiliate_id = $1`,
        [healthyAff],
      );
      assert.ok(healthyRows.every((r) => r.status === 'succeeded' && r.attempt_count === 1));
    },
  );
});

describe('deliveries waiting for an open breaker', () => {
  async function deliveriesOf(endpointId: string) {
    const { rows } = await sys.pool.query<{
      id: string;
      status: string;
      attempt_count: number;
      last_error: string | null;
      waited_ms: number;
    }>(
      `SELECT id, status, attempt_count, last_error,
              extract(epoch FROM completed_at - coalesce(schedule_started_at, created_at)) * 1000 AS waited_ms
         FROM deliveries WHERE endpoint_id = $1`,
      [endpointId],
    );
    return rows;
  }

  it(
    "end failed once their schedule's time has passed, not sooner and spending no attempt; a redrive then delivers each once through the breaker",
    { timeout: 120_000 },
    async () => {
      const aff = uniqueId('aff');
      const path = `/expiring-${aff}`;
      rx.script(
        path,
        Array.from({ length: 10_000 }, () => ({ status: 503 })),
      );
      // Three attempts over 4 s at most.
      const endpoint = await createEndpoint(path, aff, {
        retryPolicy: { schedule: ['2s', '2s'], jitter: 0 },
      });
      const events = await sendMany(aff, 8);
      const ended = await until('all 8 deliveries failed', async () => {
        const rows = await deliveriesOf(endpoint.id);
        return rows.length === 8 && rows.every((r) => r.status === 'failed') ? rows : undefined;
      });
      assert.ok(ended.every((r) => r.attempt_count <= 3));
      const expired = ended.filter((r) => r.last_error?.includes('breaker open'));
      assert.ok(expired.length >= 1, JSON.stringify(ended));
      for (const r of expired) assert.ok(r.waited_ms >= 4_000 - 50, `ended after ${r.waited_ms} ms`);
      const { rows: logged } = await sys.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE d.endpoint_id = $1`,
        [endpoint.id],
      );
      assert.equal(logged[0]!.n, rx.requests(path).length);

      rx.script(path, []);
      const recover = await sys.request('POST', `/v1/endpoints/${endpoint.id}/recover`, {
        apiKey: op.apiKey,
        json: { since: new Date(Date.now() - 3_600_000).toISOString() },
      });
      assert.equal(recover.status, 202, JSON.stringify(recover.body));
      await until(
        'all 8 redriven deliveries succeeded',
        async () => {
          const rows = await deliveriesOf(endpoint.id);
          return rows.every((r) => r.status === 'succeeded') ? rows : undefined;
        },
        60_000,
        () => breakerStateOf(endpoint.id),
      );
      const wh = new Webhook(endpoint.secret);
      const ok = rx.requests(path).slice(logged[0]!.n);
      const ids = webhookIdsByEvent(ok, (r) => wh.verify(r.body, r.headers as any) as any);
      assert.deepEqual(new Set(ids.keys()), new Set(events.map((e) => e.id)));
      assert.equal(ok.length, 8, 'the redrive sent each once');
    },
  );

  it('leave a test send through, are cancelled at once when the endpoint is disabled, and enabling it again closes its breaker', async () => {
    const aff = uniqueId('aff');
    const path = `/disabled-${aff}`;
    rx.script(
      path,
      Array.from({ length: 10_000 }, () => ({ status: 503 })),
    );
    const endpoint = await createEndpoint(path, aff, {
      retryPolicy: { schedule: Array.from({ length: 50 }, () => '1s'), jitter: 0 },
    });
    await sendMany(aff, 8);
    await until('deliveries waiting for the breaker', async () => {
      const { rows } = await sys.pool.query(
        'SELECT 1 FROM deliveries WHERE endpoint_id = $1 AND breaker_wait_since IS NOT NULL',
        [endpoint.id],
      );
      return rows.length >= 2 ? rows : undefined;
    });
    // A test send is never held by the breaker: it goes out now, whoever is named to probe.
    const tested = await sys.request('POST', `/v1/endpoints/${endpoint.id}/test`, { apiKey: op.apiKey });
    assert.ok(tested.status < 300, JSON.stringify(tested.body));
    await until('the test send arrived', async () =>
      rx.requests(path).some((r) => JSON.parse(r.body).type === 'webhook.test') ? true : undefined,
    );
    const off = await sys.request('PATCH', `/v1/endpoints/${endpoint.id}`, {
      apiKey: op.apiKey,
      json: { enabled: false },
    });
    assert.equal(off.status, 200);
    // The eight, and the test send (failing too, so retrying).
    const rows = await until('all 9 cancelled', async () => {
      const rows = await deliveriesOf(endpoint.id);
      return rows.length === 9 && rows.every((r) => r.status === 'cancelled') ? rows : undefined;
    });
    assert.ok(rows.every((r) => r.last_error === 'endpoint_disabled'));
    const on = await sys.request('PATCH', `/v1/endpoints/${endpoint.id}`, {
      apiKey: op.apiKey,
      json: { enabled: true },
    });
    assert.equal(on.body.breaker.state, 'closed');
    assert.equal(on.body.breaker.consecutiveFailures, 0);
  });
});

describe('a breaker that closed while its wake-up sweep was lost', () => {
  it('has its waiting deliveries woken by the next delivery of the endpoint to load, not left to their recheck', async () => {
    const aff = uniqueId('aff');
    const path = `/lost-sweep-${aff}`;
    rx.script(
      path,
      Array.from({ length: 10_000 }, () => ({ status: 503 })),
    );
    // Its schedule's time (250 s) outlasts the limit below: only a wake-up delivers the waiting ones in time.
    const endpoint = await createEndpoint(path, aff, {
      retryPolicy: { schedule: Array.from({ length: 50 }, () => '5s'), jitter: 0 },
    });
    const events = await sendMany(aff, 8);
    await until('deliveries waiting for the breaker', async () => {
      const { rows } = await sys.pool.query(
        'SELECT 1 FROM deliveries WHERE endpoint_id = $1 AND breaker_wait_since IS NOT NULL',
        [endpoint.id],
      );
      return rows.length >= 3 ? rows : undefined;
    });
    // As if the worker whose attempt closed the breaker stopped before its sweep: closed, nobody woken.
    rx.script(path, []);
    await sys.pool.query(
      `UPDATE endpoints SET breaker_opened_at = NULL, breaker_probe_at = NULL, breaker_prober = NULL,
              breaker_probe_started_at = NULL, consecutive_failures = 0, breaker_last_failed = NULL,
              breaker_swept_at = now() - interval '1 minute'
        WHERE id = $1`,
      [endpoint.id],
    );
    await sendMany(aff, 1);
    await until('all 9 delivered', async () => {
      const { rows } = await sys.pool.query<{ status: string }>(
        'SELECT status FROM deliveries WHERE endpoint_id = $1',
        [endpoint.id],
      );
      return rows.length === 9 && rows.every((r) => r.status === 'succeeded') ? rows : undefined;
    });
    const ok = new Set(rx.requests(path).map((r) => JSON.parse(r.body).data.eventId));
    for (const e of events) assert.ok(ok.has(e.id));
  });
});

describe('one delivery retrying alone', () => {
  it('never opens the breaker, however often it fails: its schedule spaces its attempts', async () => {
    const aff = uniqueId('aff');
    const path = `/lone-${aff}`;
    rx.script(
      path,
      Array.from({ length: 7 }, () => ({ status: 503 })),
    );
    const endpoint = await createEndpoint(path, aff, {
      retryPolicy: { schedule: Array.from({ length: 10 }, () => '200ms'), jitter: 0 },
    });
    const [event] = await sendMany(aff, 1);
    const rows = await until('the delivery succeeded', async () => {
      const { rows } = await sys.pool.query<{ status: string; attempt_count: number }>(
        'SELECT status, attempt_count FROM deliveries WHERE endpoint_id = $1',
        [endpoint.id],
      );
      return rows[0]?.status === 'succeeded' ? rows : undefined;
    });
    assert.deepEqual(rows, [{ status: 'succeeded', attempt_count: 8 }]);
    assert.equal(rx.requests(path).length, 8);
    assert.equal(JSON.parse(rx.requests(path)[7]!.body).data.eventId, event!.id);
    const got = await sys.request('GET', `/v1/endpoints/${endpoint.id}`, { apiKey: op.apiKey });
    assert.deepEqual(got.body.breaker, {
      state: 'closed',
      since: null,
      nextProbeAt: null,
      consecutiveFailures: 0,
    });
  });
});
