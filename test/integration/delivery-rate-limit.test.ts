import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/** Rate-limited endpoints with a backlog: every delivery gets its slot, none is lost, nobody else waits. */
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

async function createEndpoint(path: string, affiliateId: string, body: Record<string, unknown> = {}) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['customer.registered'], affiliateId, ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function sendMany(affiliateId: string, count: number) {
  const events = Array.from({ length: count }, () =>
    registration(uniqueId('player'), { attribution: { affiliateId } }),
  );
  const res = await sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return events;
}

describe('a rate-limited endpoint with a backlog', () => {
  it(
    'drains a 70-event backlog at 1/s (slot waits well past 30 s): every delivery sent once and succeeded, none dead-lettered, while another endpoint flows beside it',
    { timeout: 200_000 },
    async () => {
      const limitedAff = uniqueId('aff');
      const freeAff = uniqueId('aff');
      const limited = `/limited-${limitedAff}`;
      const free = `/free-${freeAff}`;
      await createEndpoint(limited, limitedAff, { rateLimitPerSecond: 1 });
      await createEndpoint(free, freeAff);

      const backlog = await sendMany(limitedAff, 70);
      // The backlog is queued: its slots reach about 70 s out.
      await rx.waitFor(limited, 2, 20_000);
      const others = await sendMany(freeAff, 20);
      const freeArrivals = await rx.waitFor(free, 20, 30_000);

      const arrivals = await rx.waitFor(limited, 70, 85_000);
      // Each event exactly once: every reserved slot was used by the delivery that reserved it.
      const ids = arrivals.map((r) => JSON.parse(r.body).data.eventId as string);
      assert.equal(new Set(ids).size, 70);
      assert.deepEqual(new Set(ids), new Set(backlog.map((e) => e.id)));
      // Never faster than the limit: the i-th arrival at least (i - 1) s after the first, less clock slack.
      const times = arrivals.map((r) => r.at).sort((a, b) => a - b);
      for (const [i, t] of times.entries()) {
        assert.ok(t - times[0]! >= (i - 1) * 1000 - 100, `arrival ${i} at +${t - times[0]!} ms`);
      }
      // The other endpoint did not queue behind the backlog: all of its events arrived before the backlog's
      // last (which cannot come before its 70th slot).
      assert.ok(
        Math.max(...freeArrivals.map((r) => r.at)) < times[times.length - 1]!,
        'the unlimited endpoint finished before the backlog drained',
      );
      assert.equal(new Set(freeArrivals.map((r) => JSON.parse(r.body).data.eventId)).size, others.length);

      for (const e of backlog) {
        const result = await sys.client.workflow.getHandle(eventWorkflowId(op.id, e.id)).result();
        assert.equal(result.deliveries[0]!.status, 'succeeded');
      }
      const { rows } = await sys.pool.query<{ status: string; n: number; attempts: number }>(
        `SELECT d.status, count(*)::int AS n, max(d.attempt_count)::int AS attempts
         FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
        WHERE e.affiliate_id = $1 GROUP BY d.status`,
        [limitedAff],
      );
      assert.deepEqual(rows, [{ status: 'succeeded', n: 70, attempts: 1 }]);
    },
  );
});
