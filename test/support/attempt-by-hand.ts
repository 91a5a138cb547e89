import assert from 'node:assert/strict';
import type { DeliverDeps } from '../../activities/delivery/types.js';
import type { Pool } from '../../src/db/pool.js';
import { createDeliveryRuntime } from '../../src/delivery/deps.js';
import { testEnv } from './env.js';
import { registration, uniqueId } from './factories.js';
import type { Receiver } from './receiver.js';
import type { System } from './system.js';

/**
 * An attempt made by hand (`deliver()` called from the test) on a real delivery: its endpoint refused the
 * first attempt, and its workflow now waits out an hour, so nothing else attempts it meanwhile.
 */

/** A registration's delivery to a new endpoint at `path`, whose first attempt got 500; it waits an hour. */
export async function deliveryWaitingAnHour(
  sys: System,
  rx: Receiver,
  op: { id: string; apiKey: string },
  path: string,
): Promise<{ deliveryId: string; eventId: string }> {
  const affiliateId = uniqueId('aff');
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
  for (let i = 0; i < 100; i++) {
    const { rows } = await sys.pool.query<{ id: string; status: string }>(
      'SELECT id, status FROM deliveries WHERE operator_id = $1 AND event_id = $2',
      [op.id, reg.id],
    );
    if (rows[0]?.status === 'retrying') return { deliveryId: rows[0].id, eventId: reg.id };
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('the first attempt failed and the delivery waits its hour');
}

/** What `deliver()` needs over `pool`, with the test system's keys; `close` ends its HTTP client. */
export function handDeliveryDeps(pool: Pool): { deps: DeliverDeps; close(): void } {
  const runtime = createDeliveryRuntime({
    SECRETS_ENCRYPTION_KEYS: testEnv().encryptionKeys,
    SSRF_ALLOWLIST: ['127.0.0.0/8'],
    HTTPS_ONLY: false,
  });
  return {
    deps: { pool, cipher: runtime.cipher, http: runtime.http },
    close: () => runtime.http.close(),
  };
}

/**
 * The real pool, showing `inspect` every statement before it runs (its text, and its name when it is a
 * named one); a statement for which `inspect` returns an error fails with it instead of running.
 */
export function inspectedPool(
  pool: Pool,
  inspect: (s: { name: string | null; text: string }) => Error | void,
  opts: { transactions?: boolean } = {},
): Pool {
  const inspected = <T extends object>(queryable: T): T =>
    new Proxy(queryable, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return (query: unknown, values?: unknown) => {
          const q = typeof query === 'string' ? { text: query } : (query as { name?: string; text: string });
          const err = inspect({ name: q.name ?? null, text: q.text });
          if (err) return Promise.reject(err);
          return (target as unknown as Pool).query(query as string, values as unknown[]);
        };
      },
    });
  if (!opts.transactions) return inspected(pool);
  // The statements of transactions too: those of the clients connect() hands out.
  return new Proxy(inspected(pool), {
    get(target, prop, receiver) {
      if (prop !== 'connect') return Reflect.get(target, prop, receiver);
      return async () => inspected(await pool.connect());
    },
  });
}
