import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * A redrive that reaches the event's run in the same workflow task as the result of the attempt that
 * failed the delivery. PostgreSQL already says `failed` (the attempt logged it before its activity
 * completed), so the redrive reopens it and signals; the run, which has not yet taken the result in,
 * still sees the delivery retrying with its attempt under way. It must deliver it again once that result
 * is in, not drop the redrive and close with the delivery pending in PostgreSQL and nothing driving it.
 *
 * Made deterministic with two workers on one task queue: one runs the workflows and their local first
 * attempts, the other the server-side retries. The last attempt is on the wire while the workflow worker
 * is stopped; the redrive comes once PostgreSQL says failed; a new workflow worker then gets both in one task.
 */
let activities: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  activities = await startSystem({ workerRole: 'activities' });
  rx = await startReceiver();
  op = await activities.createOperator();
});
after(async () => {
  await activities?.stop();
  await rx?.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a redrive that overtakes the result of the attempt that failed the delivery', () => {
  it('delivers it again once that result is in: delivered once, not left pending with nothing driving it', async () => {
    const workflows = await startSystem({ workerRole: 'workflows', taskQueue: activities.taskQueue });
    let restarted: System | undefined;
    try {
      const aff = uniqueId('aff');
      const path = `/ending-${aff}`;
      // The first attempt and its quick retry (both local) fail; the third and last, a server-side
      // retry, answers 503 after 3 s.
      rx.script(path, [{ status: 503 }, { status: 503 }, { status: 503, delayMs: 3_000 }]);
      const created = await activities.request('POST', '/v1/endpoints', {
        apiKey: op.apiKey,
        json: {
          url: rx.url(path),
          eventTypes: ['customer.registered'],
          affiliateId: aff,
          retryPolicy: { schedule: ['1s', '1s'], jitter: 0 },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const endpoint = created.body as { id: string; secret: string };
      const event = registration(uniqueId('player'), { attribution: { affiliateId: aff } });
      const accepted = await workflows.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));

      // The last attempt is on the wire (on the activity worker): the workflow worker stops meanwhile.
      await rx.waitFor(path, 3, 30_000);
      await workflows.stop();
      const failed = await until('the delivery failed in PostgreSQL', async () => {
        const { rows } = await activities.pool.query<{ id: string; status: string }>(
          'SELECT id, status FROM deliveries WHERE endpoint_id = $1',
          [endpoint.id],
        );
        return rows[0]?.status === 'failed' ? rows[0] : undefined;
      });
      const redriven = await activities.request('POST', `/v1/deliveries/${failed.id}/retry`, {
        apiKey: op.apiKey,
      });
      assert.equal(redriven.status, 202, JSON.stringify(redriven.body));

      // A workflow worker again: the attempt's result and the redrive arrive in one workflow task.
      restarted = await startSystem({ workerRole: 'workflows', taskQueue: activities.taskQueue });
      const done = await until('the redriven delivery succeeded', async () => {
        const { rows } = await activities.pool.query<{ status: string; attempt_count: number }>(
          'SELECT status, attempt_count FROM deliveries WHERE id = $1',
          [failed.id],
        );
        return rows[0]?.status === 'succeeded' ? rows[0] : undefined;
      });
      assert.equal(done.attempt_count, 4);
      const requests = rx.requests(path);
      assert.equal(requests.length, 4, 'three failed attempts, then the redriven one');
      const wh = new Webhook(endpoint.secret);
      const ids = webhookIdsByEvent(requests, (r) => wh.verify(r.body, r.headers as any) as any);
      assert.deepEqual([...ids.keys()], [event.id]);
      assert.equal(ids.get(event.id)!.size, 1, 'one webhook-id across the redrive');
    } finally {
      await workflows.stop().catch(() => undefined);
      await restarted?.stop();
    }
  });
});
