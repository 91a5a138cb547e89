import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliver } from '../../activities/delivery/deliver.js';
import { recordDeliveryOutcome } from '../../activities/delivery/record-outcome.js';
import type { DeliverDeps } from '../../activities/delivery/types.js';
import type { Pool } from '../../src/db/pool.js';
import { createDeliveryRuntime } from '../../src/delivery/deps.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { retryDeliverySignal } from '../../workflows/definitions.js';
import { testEnv } from '../support/env.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Bookkeeping never sends again: an attempt that went out and could not be logged (PostgreSQL refusing
 * writes to the attempt log) comes back as data, and logging it later sends nothing.
 */
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

/** The real pool, except that every write to the attempt log fails as if PostgreSQL had gone away. */
function poolLosingTheLog(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (query: unknown, values?: unknown) => {
        // A statement comes as its text, or as a named one's config.
        const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
        if (
          typeof text === 'string' &&
          /INSERT INTO delivery_attempts \(delivery_id, number, started_at, duration_ms, status_code/.test(
            text,
          )
        ) {
          const err = Object.assign(new Error('terminating connection due to administrator command'), {
            code: '57P01',
          });
          return Promise.reject(err);
        }
        return target.query(query as string, values as unknown[]);
      };
    },
  });
}

describe('an attempt that cannot be logged', () => {
  it('is returned unrecorded after a few in-process tries, sent once, and logged later without a send', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/unlogged-${affiliateId}`;
    rx.script(path, [{ status: 500 }]);
    const created = await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: {
        url: rx.url(path),
        eventTypes: ['customer.registered'],
        affiliateId,
        retryPolicy: { schedule: ['1h'], jitter: 0 },
      },
    });
    assert.equal(created.status, 201);
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg })).status, 202);
    await rx.waitFor(path, 1);
    const { rows } = await sys.pool.query<{ id: string; status: string }>(
      `SELECT d.id, d.status FROM deliveries d WHERE d.operator_id = $1 AND d.event_id = $2`,
      [op.id, reg.id],
    );
    const deliveryId = rows[0]!.id;
    for (let i = 0; i < 100; i++) {
      const { rows: now } = await sys.pool.query('SELECT status FROM deliveries WHERE id = $1', [deliveryId]);
      if (now[0].status === 'retrying') break;
      await new Promise((r) => setTimeout(r, 50));
    }

    // Attempt 2, by hand, while the workflow waits out its hour: the receiver answers 200 (its default).
    const env = testEnv();
    const runtime = createDeliveryRuntime({
      SECRETS_ENCRYPTION_KEYS: env.encryptionKeys,
      SSRF_ALLOWLIST: ['127.0.0.0/8'],
      HTTPS_ONLY: false,
    });
    const deps: DeliverDeps = {
      pool: poolLosingTheLog(sys.pool),
      cipher: runtime.cipher,
      http: runtime.http,
    };
    try {
      const result = await deliver(deps, { deliveryId, driveBase: 0 });
      assert.equal(result.status, 'unrecorded');
      assert.equal(rx.requests(path).length, 2, 'sent once');
      if (result.status !== 'unrecorded') return;
      assert.equal(result.decision.status, 'succeeded');
      assert.equal(result.decision.line.number, 2);

      // PostgreSQL is back: the workflow's record-only step logs it, and sends nothing.
      const recorded = await recordDeliveryOutcome({ ...deps, pool: sys.pool }, result);
      assert.equal(recorded.status, 'succeeded');
      assert.equal(rx.requests(path).length, 2);
    } finally {
      runtime.http.close();
    }
    const detail = await sys.request('GET', `/v1/deliveries/${deliveryId}`, { apiKey: op.apiKey });
    assert.equal(detail.body.status, 'succeeded');
    assert.deepEqual(
      detail.body.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, 200],
      ],
    );
    // The workflow, woken, finds the delivery finished and ends without another request.
    const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id));
    await handle.signal(retryDeliverySignal, { deliveryId });
    const final = await handle.result();
    assert.equal(final.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 2);
  });
});
