import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { replayFeedPage } from '../../activities/replay.js';
import { decodeFeedCursor } from '../../src/api/cursor.js';
import { feedHorizon, insertReplay } from '../../src/db/replays.js';
import { temporalPorts } from '../../src/main/host/activity-deps.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * A redrive or replay that reaches the event's run in the same workflow task as the result of the attempt
 * that ended the delivery. PostgreSQL already says it ended (the attempt logged it before its activity
 * completed), so the redrive or replay reopens it and signals; the run, which has not yet taken the result
 * in, still sees the delivery retrying with its attempt under way. It must deliver it again once that result
 * is in, not drop the signal and close with the delivery pending in PostgreSQL and nothing driving it.
 *
 * Made deterministic with two workers on one task queue: one runs the workflows and their local attempts,
 * the other the server-side retries. The last attempt is on the wire while the workflow worker is stopped;
 * the redrive or replay comes once PostgreSQL says failed; a new workflow worker then gets both in one task.
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

/**
 * One event whose only delivery fails its three attempts, the last ending while no workflow worker runs:
 * `reopen` is called once PostgreSQL says failed, then a workflow worker starts again and the delivery must
 * end succeeded after one more attempt, under the same webhook-id.
 */
async function reopenedWhileEnding(
  reopen: (ctx: {
    deliveryId: string;
    endpointId: string;
    affiliateId: string;
    feedStart: string;
  }) => Promise<void>,
) {
  const workflows = await startSystem({ workerRole: 'workflows', taskQueue: activities.taskQueue });
  let restarted: System | undefined;
  try {
    const aff = uniqueId('aff');
    const path = `/ending-${aff}`;
    // The first attempt and its quick retry (both local) fail; the third and last, a server-side retry,
    // answers 503 after 3 s.
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
    const feed = await activities.request('GET', '/v1/feed?limit=1', { apiKey: op.apiKey });
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
    await reopen({
      deliveryId: failed.id,
      endpointId: endpoint.id,
      affiliateId: aff,
      feedStart: feed.body.nextCursor,
    });

    // A workflow worker again: the attempt's result and the signal arrive in one workflow task.
    restarted = await startSystem({ workerRole: 'workflows', taskQueue: activities.taskQueue });
    const done = await until('the reopened delivery succeeded', async () => {
      const { rows } = await activities.pool.query<{ status: string; attempt_count: number }>(
        'SELECT status, attempt_count FROM deliveries WHERE id = $1',
        [failed.id],
      );
      return rows[0]?.status === 'succeeded' ? rows[0] : undefined;
    });
    assert.equal(done.attempt_count, 4);
    const requests = rx.requests(path);
    assert.equal(requests.length, 4, 'three failed attempts, then the reopened one');
    const wh = new Webhook(endpoint.secret);
    const ids = webhookIdsByEvent(requests, (r) => wh.verify(r.body, r.headers as any) as any);
    assert.deepEqual([...ids.keys()], [event.id]);
    assert.equal(ids.get(event.id)!.size, 1, 'one webhook-id throughout');
  } finally {
    await workflows.stop().catch(() => undefined);
    await restarted?.stop();
  }
}

describe('a delivery reopened while the result that ended it is on its way to the run', () => {
  it('by a redrive: delivered once that result is in, not left pending with nothing driving it', async () => {
    await reopenedWhileEnding(async ({ deliveryId }) => {
      const res = await activities.request('POST', `/v1/deliveries/${deliveryId}/retry`, {
        apiKey: op.apiKey,
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    });
  });

  it('by a replay of the endpoint: delivered once that result is in, not left pending', async () => {
    await reopenedWhileEnding(async ({ deliveryId, endpointId, affiliateId, feedStart }) => {
      // The replay's page is run here (its own workflow needs the workflow worker, which is stopped).
      await until('the event is in the feed', async () => {
        const res = await activities.request('GET', `/v1/feed?limit=10&after=${feedStart}`, {
          apiKey: op.apiKey,
        });
        return res.body.data.length ? true : undefined;
      });
      const id = `rpl_${uniqueId('t').replace(/[^A-Za-z0-9]/g, '')}`;
      await insertReplay(activities.pool, {
        id,
        operatorId: op.id,
        endpointId,
        after: decodeFeedCursor(feedStart, ['after']),
        untilExclusive: await feedHorizon(activities.pool),
        missingOnly: false,
        eventTypes: ['customer.registered'],
        affiliateId,
        filter: null,
        workflowId: `replay:${op.id}:${id}`,
      });
      const ports = temporalPorts({
        pool: activities.pool,
        client: activities.client,
        taskQueue: activities.taskQueue,
      });
      const page = await replayFeedPage(
        { pool: activities.pool, ports },
        { operatorId: op.id, replayId: id, page: 0, pageSize: 10 },
      );
      assert.equal(page.counts?.queued, 1, JSON.stringify(page));
      const { rows } = await activities.pool.query('SELECT status FROM deliveries WHERE id = $1', [
        deliveryId,
      ]);
      assert.equal(rows[0]!.status, 'pending');
    });
  });
});
