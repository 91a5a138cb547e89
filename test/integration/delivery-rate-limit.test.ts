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

describe('a reserved send slot', () => {
  it('is released when its delivery is cancelled while waiting for it: the last one moves the schedule back', async () => {
    const aff = uniqueId('aff');
    const path = `/slots-${aff}`;
    const endpoint = await createEndpoint(path, aff, { rateLimitPerSecond: 1 });
    await sendMany(aff, 6);
    await rx.waitFor(path, 1);
    // Once all six deliveries exist and every unsent one holds its slot, the latest slot is the last reserved.
    let last: { id: string; slot_at: Date } | undefined;
    for (let i = 0; i < 200 && !last; i++) {
      const { rows } = await sys.pool.query<{ id: string; slot_at: Date; total: number; unslotted: number }>(
        `SELECT id, slot_at, count(*) OVER ()::int AS total,
                count(*) FILTER (WHERE slot_at IS NULL AND status = 'pending') OVER ()::int AS unslotted
           FROM deliveries WHERE endpoint_id = $1 ORDER BY slot_at DESC NULLS LAST`,
        [endpoint.id],
      );
      const top = rows[0];
      if (
        top &&
        top.total === 6 &&
        top.unslotted === 0 &&
        top.slot_at &&
        top.slot_at.getTime() > Date.now() + 2_000
      )
        last = top;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(last, 'a delivery waiting for a slot seconds away');
    const cancel = await sys.request('POST', `/v1/deliveries/${last.id}/cancel`, { apiKey: op.apiKey });
    assert.equal(cancel.status, 202);
    for (let i = 0; i < 100; i++) {
      const { rows } = await sys.pool.query('SELECT status FROM deliveries WHERE id = $1', [last.id]);
      if (rows[0].status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { rows: slots } = await sys.pool.query<{ next_slot: Date }>(
      'SELECT next_slot FROM endpoint_send_slots WHERE endpoint_id = $1',
      [endpoint.id],
    );
    assert.equal(slots[0]!.next_slot.getTime(), last.slot_at.getTime());
    // The other five still arrive, each once.
    const got = await rx.waitFor(path, 5, 15_000);
    assert.equal(new Set(got.map((r) => JSON.parse(r.body).data.eventId)).size, 5);
  });
});

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
