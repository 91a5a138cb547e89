import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Request, Response } from 'express';
import { ApiKeyCache, requireOperator } from '../../src/api/auth.js';
import { AppError } from '../../src/errors.js';
import { createOperator, type Operator } from '../../src/db/operators.js';
import { createPool, type Pool, type Queryable } from '../../src/db/pool.js';
import { startSystem, type System } from '../support/system.js';
import { testEnv } from '../support/env.js';

/**
 * The API-key cache of src/api/auth.ts against the real api_keys table: a verified key is served from
 * memory for a few seconds, and nothing else is.
 */
let pool: Pool;
let a: { operator: Operator; apiKey: string };
let b: { operator: Operator; apiKey: string };

before(async () => {
  pool = createPool(testEnv().databaseUrl, 3);
  a = await createOperator(pool, 'auth cache A');
  b = await createOperator(pool, 'auth cache B');
});
after(async () => {
  await pool?.end();
});

/** The pool, counting the queries made through it. */
function counting(db: Queryable) {
  const counter = {
    queries: 0,
    query: ((...args: Parameters<Queryable['query']>) => {
      counter.queries++;
      return (db.query as (...x: unknown[]) => unknown)(...args);
    }) as Queryable['query'],
  };
  return counter;
}

/** Runs the middleware once: the operator it resolved, or the HTTP status it failed with. */
async function authenticate(
  db: Queryable,
  cache: ApiKeyCache,
  authorization: string | undefined,
): Promise<{ operator?: Operator; status?: number }> {
  const handler = requireOperator(db, cache);
  const res = { locals: {} as Record<string, unknown> };
  const req = { headers: authorization === undefined ? {} : { authorization } };
  let error: unknown;
  await handler(req as Request, res as unknown as Response, (err?: unknown) => {
    error = err;
  });
  if (error !== undefined) {
    assert.ok(error instanceof AppError, String(error));
    return { status: error.status };
  }
  return { operator: res.locals.operator as Operator };
}

/** The same key id with a different (well-formed) secret. */
function wrongSecret(apiKey: string): string {
  const last = apiKey.at(-1) === 'A' ? 'B' : 'A';
  return `${apiKey.slice(0, -1)}${last}`;
}

/** Operator `of`'s key id with operator `from`'s secret. */
function spliced(of: string, from: string): string {
  const [prefix, keyId] = of.split('_');
  return `${prefix}_${keyId}_${from.split('_').slice(2).join('_')}`;
}

describe('API key cache', () => {
  it('when a valid key is presented again within the TTL, then PostgreSQL is not asked again', async () => {
    const db = counting(pool);
    const cache = new ApiKeyCache();
    const first = await authenticate(db, cache, `Bearer ${a.apiKey}`);
    assert.equal(first.operator?.id, a.operator.id);
    assert.equal(db.queries, 1);
    for (let i = 0; i < 5; i++) {
      const again = await authenticate(db, cache, `Bearer ${a.apiKey}`);
      assert.equal(again.operator?.id, a.operator.id);
    }
    assert.equal(db.queries, 1);
    assert.equal(cache.size, 1);
  });

  it('when a wrong secret is sent for a key id that is cached, then it is 401 every time and never cached', async () => {
    const db = counting(pool);
    const cache = new ApiKeyCache();
    assert.equal((await authenticate(db, cache, `Bearer ${a.apiKey}`)).operator?.id, a.operator.id);
    const wrong = wrongSecret(a.apiKey);
    assert.notEqual(wrong, a.apiKey);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await authenticate(db, cache, `Bearer ${wrong}`), { status: 401 });
    }
    // Each wrong attempt was checked against PostgreSQL; only the valid key sits in the cache.
    assert.equal(db.queries, 4);
    assert.equal(cache.size, 1);
    // Garbage, a missing header and an unknown key id are 401 as well.
    assert.deepEqual(await authenticate(db, cache, 'Bearer nonsense'), { status: 401 });
    assert.deepEqual(await authenticate(db, cache, undefined), { status: 401 });
    assert.deepEqual(
      await authenticate(db, cache, `Bearer ahk_${'Z'.repeat(16)}_${a.apiKey.split('_').slice(2).join('_')}`),
      { status: 401 },
    );
    // The valid key still resolves, from the cache.
    const before = db.queries;
    assert.equal((await authenticate(db, cache, `Bearer ${a.apiKey}`)).operator?.id, a.operator.id);
    assert.equal(db.queries, before);
  });

  it("when two operators' keys are both cached, then each resolves to its own operator only", async () => {
    const cache = new ApiKeyCache();
    for (let i = 0; i < 3; i++) {
      assert.equal((await authenticate(pool, cache, `Bearer ${a.apiKey}`)).operator?.id, a.operator.id);
      assert.equal((await authenticate(pool, cache, `Bearer ${b.apiKey}`)).operator?.id, b.operator.id);
    }
    assert.equal(cache.size, 2);
    // One operator's key id with the other's secret matches neither.
    assert.deepEqual(await authenticate(pool, cache, `Bearer ${spliced(a.apiKey, b.apiKey)}`), {
      status: 401,
    });
    assert.deepEqual(await authenticate(pool, cache, `Bearer ${spliced(b.apiKey, a.apiKey)}`), {
      status: 401,
    });
    // A cached operator is a frozen copy: a handler cannot alter what the next request sees.
    const got = (await authenticate(pool, cache, `Bearer ${a.apiKey}`)).operator!;
    assert.ok(Object.isFrozen(got));
  });

  it('when a key is revoked, then it stops working once the TTL has passed (and not before)', async () => {
    const c = await createOperator(pool, 'auth cache revoked');
    let clock = 1_000_000;
    const cache = new ApiKeyCache({ ttlMs: 5_000, now: () => clock });
    assert.equal((await authenticate(pool, cache, `Bearer ${c.apiKey}`)).operator?.id, c.operator.id);
    await pool.query('UPDATE api_keys SET revoked_at = now() WHERE operator_id = $1', [c.operator.id]);
    // Within the TTL the process that verified it still trusts it: the documented bound.
    clock += 4_999;
    assert.equal((await authenticate(pool, cache, `Bearer ${c.apiKey}`)).operator?.id, c.operator.id);
    clock += 1;
    assert.deepEqual(await authenticate(pool, cache, `Bearer ${c.apiKey}`), { status: 401 });
    // A process that had not cached it refuses it at once.
    assert.deepEqual(await authenticate(pool, new ApiKeyCache(), `Bearer ${c.apiKey}`), { status: 401 });
    // Deleting the key row instead behaves the same.
    const d = await createOperator(pool, 'auth cache deleted');
    assert.equal((await authenticate(pool, cache, `Bearer ${d.apiKey}`)).operator?.id, d.operator.id);
    await pool.query('DELETE FROM api_keys WHERE operator_id = $1', [d.operator.id]);
    clock += 5_000;
    assert.deepEqual(await authenticate(pool, cache, `Bearer ${d.apiKey}`), { status: 401 });
  });

  it('when more keys are verified than it holds, then the oldest is dropped and the size stays bounded', async () => {
    const db = counting(pool);
    const cache = new ApiKeyCache({ maxEntries: 2 });
    const c = await createOperator(pool, 'auth cache C');
    for (const k of [a, b, c]) {
      assert.equal((await authenticate(db, cache, `Bearer ${k.apiKey}`)).operator?.id, k.operator.id);
    }
    assert.equal(cache.size, 2);
    assert.equal(db.queries, 3);
    // c and b are cached; a was dropped and is verified again.
    await authenticate(db, cache, `Bearer ${c.apiKey}`);
    await authenticate(db, cache, `Bearer ${b.apiKey}`);
    assert.equal(db.queries, 3);
    assert.equal((await authenticate(db, cache, `Bearer ${a.apiKey}`)).operator?.id, a.operator.id);
    assert.equal(db.queries, 4);
    assert.equal(cache.size, 2);
  });
});

describe('API key cache, through the API', () => {
  let sys: System;
  before(async () => {
    sys = await startSystem({ worker: false });
  });
  after(async () => {
    await sys?.stop();
  });

  it("when a valid key has just been used, then a wrong one is still 401 and another operator's key sees only its own resources", async () => {
    const opA = await sys.createOperator();
    const opB = await sys.createOperator();
    // Loopback is allowed in tests; nothing is ever sent to it here.
    const endpoint = { url: 'http://127.0.0.1:9/auth-cache', eventTypes: ['*'] };
    const created = await sys.request('POST', '/v1/endpoints', { apiKey: opA.apiKey, json: endpoint });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (let i = 0; i < 3; i++) {
      const own = await sys.request('GET', `/v1/endpoints/${created.body.id}`, { apiKey: opA.apiKey });
      assert.equal(own.status, 200);
      const other = await sys.request('GET', `/v1/endpoints/${created.body.id}`, { apiKey: opB.apiKey });
      assert.equal(other.status, 404);
      const listB = await sys.request('GET', '/v1/endpoints', { apiKey: opB.apiKey });
      assert.equal(listB.status, 200);
      assert.deepEqual(listB.body.data, []);
      const wrong = await sys.request('GET', '/v1/endpoints', { apiKey: wrongSecret(opA.apiKey) });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'unauthorized');
      const swapped = await sys.request('GET', '/v1/endpoints', { apiKey: spliced(opA.apiKey, opB.apiKey) });
      assert.equal(swapped.status, 401);
    }
  });
});
