import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliver } from '../../activities/delivery/deliver.js';
import type { DeliverDeps } from '../../activities/delivery/types.js';
import type { Pool } from '../../src/db/pool.js';
import { createDeliveryRuntime } from '../../src/delivery/deps.js';
import { testEnv } from '../support/env.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * An attempt's two large statements, the claim and the attempt log, reach PostgreSQL as named prepared
 * statements: planned once per connection. Planned afresh they cost more than they run (BENCHMARKS.md, "the
 * delivery's two statements planned once"), which made a tenant whose deliveries wait for an open breaker
 * a noisy neighbour.
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

/** The real pool, noting every statement it is given: its text, and its name when it has one. */
function recordingPool(pool: Pool, seen: { name: string | null; text: string }[]): Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (query: unknown, values?: unknown) => {
        if (typeof query === 'string') seen.push({ name: null, text: query });
        else {
          const q = query as { name?: string; text: string };
          seen.push({ name: q.name ?? null, text: q.text });
        }
        return target.query(query as string, values as unknown[]);
      };
    },
  });
}

describe("an attempt's statements", () => {
  it('claim the delivery and log the attempt as named statements', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/statements-${affiliateId}`;
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
    let deliveryId = '';
    for (let i = 0; i < 100; i++) {
      const { rows } = await sys.pool.query<{ id: string; status: string }>(
        'SELECT id, status FROM deliveries WHERE operator_id = $1 AND event_id = $2',
        [op.id, reg.id],
      );
      if (rows[0]?.status === 'retrying') {
        deliveryId = rows[0].id;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(deliveryId, 'the first attempt failed and the delivery waits its hour');

    // Attempt 2, by hand, while the workflow waits: the receiver answers 200 (its default).
    const env = testEnv();
    const runtime = createDeliveryRuntime({
      SECRETS_ENCRYPTION_KEYS: env.encryptionKeys,
      SSRF_ALLOWLIST: ['127.0.0.0/8'],
      HTTPS_ONLY: false,
    });
    const seen: { name: string | null; text: string }[] = [];
    const deps: DeliverDeps = {
      pool: recordingPool(sys.pool, seen),
      cipher: runtime.cipher,
      http: runtime.http,
    };
    try {
      const result = await deliver(deps, { deliveryId, driveBase: 0 });
      assert.equal(result.status, 'succeeded');
    } finally {
      runtime.http.close();
    }
    const claim = seen.filter((s) => /^\s*WITH prior AS \(/.test(s.text));
    const log = seen.filter((s) => /^\s*WITH attempt AS \(\s*INSERT INTO delivery_attempts/.test(s.text));
    assert.equal(claim.length, 1, 'one claim');
    assert.equal(log.length, 1, 'one attempt log');
    assert.equal(claim[0]!.name, 'deliver:claim-1');
    assert.equal(log[0]!.name, 'deliver:record-attempt-1');
  });
});
