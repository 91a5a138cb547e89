import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { POSTBACK_MAPPING, deposit, registration, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Fuzzed input against the running API (real PostgreSQL, real Temporal): random JSON, valid events with
 * random mutations, random bytes, random content types. Whatever arrives, the answer is a 2xx or a 4xx in
 * the contract's error shape, never a 5xx, and a refusal changes nothing: the operator's rows are counted
 * before and after every request. Each property has its own operator, so that what one accepts cannot
 * move another's counts.
 */

let sys: System;

before(async () => {
  sys = await startSystem();
});
after(async () => {
  await sys?.stop();
});

/** More with FUZZ_RUNS=1000 for a deeper search by hand; CI keeps it short. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const statuses = new Map<number, number>();
after(() => console.log('fuzz statuses', JSON.stringify([...statuses])));

/** A token source that maps GET postbacks into events. */
async function postbackSource(op: { apiKey: string }) {
  const created = await sys.request('POST', '/v1/sources', {
    apiKey: op.apiKey,
    json: { name: 'fuzzed source', verification: { type: 'token' }, ...POSTBACK_MAPPING },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created;
}

/** Every row an operator owns that a request could add. */
async function footprint(operatorId: string) {
  const { rows } = await sys.pool.query(
    `SELECT (SELECT count(*) FROM events WHERE operator_id = $1)::int AS events,
            (SELECT count(*) FROM customers WHERE operator_id = $1)::int AS customers,
            (SELECT count(*) FROM endpoints WHERE operator_id = $1)::int AS endpoints,
            (SELECT count(*) FROM affiliates WHERE operator_id = $1)::int AS affiliates,
            (SELECT count(*) FROM sources WHERE operator_id = $1)::int AS sources,
            (SELECT count(*) FROM deliveries WHERE operator_id = $1)::int AS deliveries,
            (SELECT count(*) FROM commission_entries WHERE operator_id = $1)::int AS commission_entries`,
    [operatorId],
  );
  return rows[0] as Record<string, number>;
}

/** A refusal in the contract's shape: `{error: {code, message, details?: [{path, message}]}}`. */
function assertErrorShape(status: number, body: any) {
  assert.ok(status >= 400 && status < 500, `status ${status}: ${JSON.stringify(body)}`);
  assert.equal(typeof body?.error?.code, 'string', JSON.stringify(body));
  assert.match(body.error.code, /^[a-z]+(_[a-z]+)*$/);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  if (body.error.details !== undefined) {
    assert.ok(Array.isArray(body.error.details), JSON.stringify(body));
    for (const d of body.error.details) {
      assert.equal(typeof d.path, 'string', JSON.stringify(d));
      assert.equal(typeof d.message, 'string', JSON.stringify(d));
    }
  }
}

/** Sends, and checks the answer and what it changed: a refusal nothing, an acceptance what `grows` says. */
async function probe(
  operatorId: string,
  send: () => Promise<{ status: number; body: any }>,
  allowed: number[],
  grows: (status: number) => Partial<Record<string, number>>,
) {
  const before = await footprint(operatorId);
  const res = await send();
  assert.ok(allowed.includes(res.status), `unexpected ${res.status}: ${JSON.stringify(res.body)}`);
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status >= 400) {
    assertErrorShape(res.status, res.body);
    assert.deepEqual(await footprint(operatorId), before, `a ${res.status} changed stored rows`);
  } else {
    const after = await footprint(operatorId);
    for (const [table, n] of Object.entries(grows(res.status)))
      assert.equal(after[table]! - before[table]!, n, `${table} after a ${res.status}`);
  }
  return res;
}

const nasty = fc.constantFrom<unknown>(
  '',
  ' ',
  '0',
  '-1',
  '-0.00',
  '1e3',
  '50.001',
  '50.',
  '.5',
  'NaN',
  'Infinity',
  '9'.repeat(40),
  '2026-13-01T00:00:00Z',
  '2026-02-30T10:00:00Z',
  '2026-11-27',
  'x'.repeat(129),
  'a b',
  '\u0000',
  'ＥＵＲ',
  '../../etc/passwd',
  '__proto__',
  { __proto__: { polluted: true } },
  null,
  1.5,
  -1,
  2 ** 53,
  true,
  [],
  {},
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nasty, fc.string({ maxLength: 200 }));
const fields = fc.constantFrom(
  'id',
  'type',
  'occurredAt',
  'customerId',
  'brand',
  'attribution',
  'attribution.affiliateId',
  'attribution.clickId',
  'attribution.subIds',
  'attribution.subIds.sub1',
  'data',
  'data.amount',
  'data.currency',
  'data.depositId',
  'data.country',
  'extra',
  'data.extra',
);
const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), path: fields }),
  fc.record({ op: fc.constant('set' as const), path: fields, value: anyJson }),
);

function mutate(
  event: Record<string, any>,
  mutations: { op: 'delete' | 'set'; path: string; value?: unknown }[],
) {
  const out = structuredClone(event);
  for (const m of mutations) {
    const keys = m.path.split('.');
    let node: any = out;
    for (const k of keys.slice(0, -1)) {
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      node = node[k];
    }
    const last = keys[keys.length - 1]!;
    if (m.op === 'delete') delete node[last];
    else node[last] = m.value;
  }
  return out;
}

describe('fuzzed input: never a 5xx, and a refusal changes nothing', () => {
  it('POST /v1/events with random JSON is refused in the error shape', async () => {
    const op = await sys.createOperator('fuzz-random');
    await fc.assert(
      fc.asyncProperty(anyJson, async (value) => {
        await probe(
          op.id,
          () => sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: value }),
          [400, 422],
          () => ({}),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/events with a valid event, randomly mutated: accepted whole or refused without a trace', async () => {
    const op = await sys.createOperator('fuzz-mutated');
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('registration', 'deposit'),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (kind, mutations) => {
          const customerId = uniqueId('fz');
          const base = kind === 'registration' ? registration(customerId) : deposit(customerId);
          const event = mutate(base, mutations);
          const res = await probe(
            op.id,
            () => sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event }),
            // A mutated id can repeat one used before (the fixed values below): a duplicate or a conflict.
            [202, 200, 400, 409, 422],
            (status) => ({ events: status === 202 ? 1 : 0 }),
          );
          if (res.status === 202) {
            accepted += 1;
            // Processed to the end (an accepted event never fails in its workflow), which also lets the
            // customer row it adds settle before the next probe counts.
            await sys.client.workflow.getHandle(res.body.workflowId).result();
            const got = await sys.request('GET', `/v1/events/${encodeURIComponent(event.id)}`, {
              apiKey: op.apiKey,
            });
            assert.equal(got.status, 200);
            assert.equal(got.body.type, event.type);
            assert.equal(got.body.customerId, event.customerId);
            // The same body again is a duplicate that starts nothing.
            await probe(
              op.id,
              () => sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event }),
              [200],
              () => ({ events: 0 }),
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Harmless mutations (an unknown field, a deleted optional one) must get through, or the property
    // would only ever see refusals.
    assert.ok(accepted > 0, 'no mutated event was accepted');
  });

  it('POST /v1/events with random bytes as JSON is 400 invalid_json or 422', async () => {
    const op = await sys.createOperator('fuzz-bytes');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
        async (raw) => {
          const rawBody = typeof raw === 'string' ? raw : Buffer.from(raw);
          const res = await probe(
            op.id,
            () =>
              sys.request('POST', '/v1/events', {
                apiKey: op.apiKey,
                rawBody,
                headers: { 'content-type': 'application/json' },
              }),
            [400, 422],
            () => ({}),
          );
          if (res.status === 400) assert.equal(res.body.error.code, 'invalid_json');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a valid event under a content type that is not JSON is 415', async () => {
    const op = await sys.createOperator('fuzz-content-type');
    const contentType = fc.oneof(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/jsonx',
        'json',
      ),
      fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9.+-]{1,15}$/).filter((t) => !/json/.test(t)),
    );
    await fc.assert(
      fc.asyncProperty(contentType, async (type) => {
        const rawBody = JSON.stringify(deposit(uniqueId('fz')));
        const res = await probe(
          op.id,
          () =>
            sys.request('POST', '/v1/events', {
              apiKey: op.apiKey,
              rawBody,
              headers: { 'content-type': type },
            }),
          [415],
          () => ({}),
        );
        assert.equal(res.status, 415);
      }),
      { numRuns: 40 },
    );
  });

  it('POST /v1/events/batch with mutated items: each item accepted or refused on its own', async () => {
    const op = await sys.createOperator('fuzz-batch');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(mutation, { maxLength: 2 }), { minLength: 1, maxLength: 8 }),
        async (itemMutations) => {
          const items = itemMutations.map((m) => mutate(deposit(uniqueId('fz')), m));
          const before = await footprint(op.id);
          const res = await sys.request('POST', '/v1/events/batch', {
            apiKey: op.apiKey,
            json: { events: items },
          });
          if (res.status !== 200) {
            assert.equal(res.status, 422, JSON.stringify(res.body));
            assertErrorShape(res.status, res.body);
            assert.deepEqual(await footprint(op.id), before);
            return;
          }
          assert.equal(res.body.results.length, items.length);
          const accepted = res.body.results.filter((r: { status: string }) => r.status === 'accepted').length;
          for (const r of res.body.results)
            assert.ok(['accepted', 'duplicate', 'conflict', 'invalid'].includes(r.status), JSON.stringify(r));
          assert.equal((await footprint(op.id)).events! - before.events!, accepted);
          for (const r of res.body.results)
            if (r.status === 'accepted') await sys.client.workflow.getHandle(r.workflowId).result();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('PUT /v1/affiliates/{id} with a valid deal, randomly mutated: one affiliate stored, or refused', async () => {
    const op = await sys.createOperator('fuzz-affiliates');
    const paths = fc.constantFrom(
      'name',
      'status',
      'deal',
      'deal.model',
      'deal.amount',
      'deal.currency',
      'deal.qualification',
      'deal.qualification.minFirstDeposit',
      'deal.holdPeriod',
      'deal.clawbackWindow',
      'deal.percent',
      'deal.tiers',
      'extra',
    );
    const change = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), path: paths }),
      fc.record({ op: fc.constant('set' as const), path: paths, value: anyJson }),
    );
    let created = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(change, { maxLength: 3 }), async (changes) => {
        const body = mutate(
          {
            name: 'Fuzzed',
            deal: {
              model: 'cpa',
              amount: '100.00',
              currency: 'EUR',
              qualification: { minFirstDeposit: '20.00' },
              holdPeriod: '30d',
              clawbackWindow: '90d',
            },
          },
          changes,
        );
        const res = await probe(
          op.id,
          () => sys.request('PUT', `/v1/affiliates/${uniqueId('aff')}`, { apiKey: op.apiKey, json: body }),
          [201, 400, 422],
          () => ({ affiliates: 1 }),
        );
        if (res.status === 201) created += 1;
      }),
      { numRuns: RUNS },
    );
    assert.ok(created > 0, 'no mutated affiliate was accepted');
  });

  it('POST /v1/endpoints with a valid body, randomly mutated: one endpoint stored, or refused', async () => {
    const op = await sys.createOperator('fuzz-endpoints');
    const paths = fc.constantFrom(
      'url',
      'eventTypes',
      'format',
      'description',
      'affiliateId',
      'retryPolicy',
      'retryPolicy.schedule',
      'rateLimitPerSecond',
      'timeoutMs',
      'extra',
    );
    const change = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), path: paths }),
      fc.record({ op: fc.constant('set' as const), path: paths, value: anyJson }),
      fc.record({
        op: fc.constant('set' as const),
        path: fc.constant('url'),
        value: fc.constantFrom(
          'http://127.0.0.1:1/x',
          'ftp://127.0.0.1/x',
          'https://',
          'not a url',
          'http://10.0.0.1/',
        ),
      }),
    );
    let created = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(change, { maxLength: 3 }), async (changes) => {
        const body = mutate(
          {
            url: 'http://127.0.0.1:9/hook',
            eventTypes: ['deposit.*'],
            retryPolicy: { schedule: ['1s', '5m'] },
          },
          changes,
        );
        const res = await probe(
          op.id,
          () => sys.request('POST', '/v1/endpoints', { apiKey: op.apiKey, json: body }),
          [201, 400, 422],
          () => ({ endpoints: 1 }),
        );
        if (res.status === 201) created += 1;
      }),
      { numRuns: RUNS },
    );
    assert.ok(created > 0, 'no mutated endpoint was accepted');
  });
});

describe('fuzzed postbacks into an inbound source', () => {
  it('random query strings on a token source: accepted as one event, or refused without a trace', async () => {
    const op = await sys.createOperator('fuzz-inbound');
    const created = await postbackSource(op);
    const key = fc.oneof(
      fc.constantFrom('event', 'player', 'amount', 'txid', 'aff', 'country', 'utm', 'event[]', 'player[a]'),
      fc.string({ minLength: 1, maxLength: 12 }),
    );
    const value = fc.oneof(
      fc.constantFrom('ftd', 'reg', 'dep', '10.00', '0', '-1', '1e3', 'DE', '', 'p-1', 'x'.repeat(200)),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, value), { maxLength: 8 }),
        fc.boolean(),
        async (pairs, complete) => {
          const query = new URLSearchParams(pairs);
          if (complete) {
            // Often a complete postback, with random extras and overrides around it.
            query.set('event', pairs.length % 2 ? 'ftd' : 'reg');
            query.set('player', uniqueId('fzp'));
            query.set('txid', uniqueId('fzt'));
            if (!query.has('amount')) query.set('amount', '10.00');
            if (query.get('event') === 'reg' && !query.has('aff')) query.set('aff', 'aff-fuzz');
          }
          const res = await probe(
            op.id,
            () => sys.request('GET', `${created.body.inboundUrl}?${query}`),
            [202, 200, 409, 422],
            (status) => ({ events: status === 202 ? 1 : 0 }),
          );
          if (res.status === 202) {
            accepted += 1;
            await sys.client.workflow.getHandle(res.body.workflowId).result();
          }
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(accepted > 0, 'no fuzzed postback was accepted');
  });
});

describe('the NUL character, which PostgreSQL cannot store', () => {
  // Unique paths: a value can break a pattern too, and then has a detail for each.
  const paths = (body: any) => [...new Set(body.error.details.map((d: { path: string }) => d.path))];

  it('anywhere in an event, even in a field no schema reads, is 422 at its path and stores nothing', async () => {
    const op = await sys.createOperator('nul-events');
    const event = registration(uniqueId('nul'), { data: { country: 'DE', note: 'a\u0000b' } });
    const res = await probe(
      op.id,
      () => sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event }),
      [422],
      () => ({}),
    );
    assert.equal(res.body.error.code, 'validation_failed');
    assert.deepEqual(paths(res.body), ['data.note']);
    const key = await probe(
      op.id,
      () =>
        sys.request('POST', '/v1/events', {
          apiKey: op.apiKey,
          json: registration(uniqueId('nul'), { data: { country: 'DE', 'x\u0000': 1 } }),
        }),
      [422],
      () => ({}),
    );
    assert.deepEqual(paths(key.body), ['data']);
  });

  it('in a batch item, is 422 at that item and stores none of the batch', async () => {
    const op = await sys.createOperator('nul-batch');
    const events = [deposit(uniqueId('nul')), deposit(uniqueId('nul'), { brand: '\u0000' })];
    const res = await probe(
      op.id,
      () => sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } }),
      [422],
      () => ({}),
    );
    assert.deepEqual(paths(res.body), ['events.1.brand']);
  });

  it('in a postback query mapped into an event, is 422 naming the event field, and stores nothing', async () => {
    const op = await sys.createOperator('nul-inbound');
    const created = await postbackSource(op);
    const url = `${created.body.inboundUrl}?event=ftd&player=p%00q&amount=10.00&txid=${uniqueId('tx')}`;
    const res = await probe(
      op.id,
      () => sys.request('GET', url),
      [422],
      () => ({}),
    );
    assert.deepEqual(paths(res.body), ['customerId']);
  });
});
