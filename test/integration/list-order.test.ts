/**
 * The lists the console and the portal page through read a page, not the list: each list's rows come in
 * list order from an index and the read stops after the page (migration 030, src/db/keyset.ts). Before,
 * the order was an expression no index could give, so every page of deliveries read and sorted all of the
 * operator's rows, and the affiliate filter also ran its check on each of them (bench:lists: 677 ms for a
 * page of one affiliate's deliveries among 100,000).
 *
 * Measured by what PostgreSQL reports it read (EXPLAIN ANALYZE: rows returned plus rows filtered out, over
 * every loop, of each scan of the list's table), not by time. Also: paging by cursor through rows that share
 * a millisecond gives each row once, in every query shape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeCursor, decodeCursor } from '../../src/api/cursor.js';
import { listDeliveries, type DeliveryFilter } from '../../src/db/deliveries.js';
import { listInboundRequests } from '../../src/db/inbound-requests.js';
import { listCommissions } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createOperator } from '../../src/db/operators.js';
import { createPool, type Pool, type Queryable } from '../../src/db/pool.js';
import { testEnv } from '../support/env.js';

const env = testEnv();
let pool: Pool;
let operatorId: string;
let tag: string;
const DELIVERIES = 5000;
const LIMIT = 51;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows each scan of `table` read (returned and filtered out, times its loops), summed over the plan. */
function rowsRead(node: PlanNode, table: string): number {
  const own =
    node['Relation Name'] === table
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, table), 0);
}

/**
 * Runs a repository call with each of its queries also explained, and answers their plans under one root:
 * what the call read in all.
 */
async function planOf(call: (db: Queryable) => Promise<unknown>): Promise<PlanNode> {
  const plans: PlanNode[] = [];
  const explaining = {
    query: async (sql: string, params?: unknown[]) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
        params,
      );
      plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
      return pool.query(sql, params);
    },
  } as unknown as Queryable;
  await call(explaining);
  assert.ok(plans.length, 'the call ran no query');
  return { 'Node Type': 'call', Plans: plans };
}

before(async () => {
  pool = createPool(env.databaseUrl, 2);
  operatorId = (await createOperator(pool, 'list order')).operator.id;
  tag = randomBase62(6);
  // Six affiliates with two endpoints each, two operator-wide endpoints, and a seventh affiliate's one
  // endpoint with 5 deliveries among the operator's 5,000.
  const endpoints = Array.from({ length: 15 }, (_, i) => `ep_${tag}${i}`);
  const affiliateOf = (i: number) => (i < 12 ? `aff-${Math.floor(i / 2)}` : i === 14 ? 'aff-rare' : null);
  await pool.query(
    `INSERT INTO affiliates (operator_id, affiliate_id, name, deal)
     SELECT $1, 'aff-' || a, 'list order', '{}' FROM unnest($2::text[]) a`,
    [operatorId, ['0', '1', '2', '3', '4', '5', 'rare']],
  );
  await pool.query(
    `INSERT INTO endpoints (id, operator_id, url, event_types, affiliate_id, secret_sealed)
     SELECT e, $1, 'https://receiver.example/' || e, ARRAY['*'], a, 'sealed'
       FROM unnest($2::text[], $3::text[]) AS t(e, a)`,
    [operatorId, endpoints, endpoints.map((_, i) => affiliateOf(i))],
  );
  await pool.query(
    `INSERT INTO endpoint_subscriptions (endpoint_id, valid_from, event_types, affiliate_id, enabled)
     SELECT id, now() - interval '40 days', event_types, affiliate_id, true FROM endpoints WHERE operator_id = $1`,
    [operatorId],
  );
  await pool.query(
    // Started, processed and settled, as events this old are: other test files share the database, and the
    // reconciler (which starts events recorded but never started, oldest first) must not take 5,000 of these.
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         received_at, workflow_started_at, acknowledged_at, status, processed_at, settled_at)
     SELECT $1, 'evt-' || i, 'deposit.completed', t, 'cus-' || i, '{}', 'h', 'wf-' || i, t, t, t, 'processed', t, t
       FROM generate_series(1, $2::int) i, LATERAL (SELECT now() - i * interval '1 minute' AS t) x`,
    [operatorId, DELIVERIES],
  );
  // Every 1,000th delivery goes to the rare affiliate's endpoint, the rest round the other fourteen.
  await pool.query(
    `INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, status, retry_policy, workflow_id,
                             created_at)
     SELECT 'dlv_' || $3 || i, $1, 'evt-' || i,
            CASE WHEN i % 1000 = 0 THEN ($4::text[])[15] ELSE ($4::text[])[1 + i % 14] END,
            'deposit.completed', 'succeeded', '{}', 'wf-' || i, now() - i * interval '1 minute'
       FROM generate_series(1, $2::int) i`,
    [operatorId, DELIVERIES, tag, endpoints],
  );
  await pool.query(
    `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind,
                                     amount, currency, status, occurred_at, hold_until, clawback_until,
                                     idempotency_key, created_at)
     SELECT 'com_' || $3 || i, $1, 'aff-' || (i % 6), 'cus-' || i, 'evt-' || i, 'cpa', 'cpa', 'accrual', 10, 'EUR',
            'pending', t, t + interval '30 days', t + interval '90 days', 'cpa/' || $3 || i, t
       FROM generate_series(1, $2::int) i, LATERAL (SELECT now() - i * interval '1 minute' AS t) x`,
    [operatorId, DELIVERIES, tag],
  );
  await pool.query('ANALYZE deliveries, endpoints, endpoint_subscriptions, events, commission_entries');
});
after(async () => {
  await pool?.end();
});

describe('a list page reads the page, not the list', () => {
  const deliveries = (filter: DeliveryFilter, cursor: { createdAt: string; id: string } | null = null) =>
    planOf((db) => listDeliveries(db, operatorId, filter, LIMIT, cursor));

  it("an operator's deliveries, first page and a page half-way down", async () => {
    const first = rowsRead(await deliveries({}), 'deliveries');
    assert.ok(first <= LIMIT, `the first page read ${first} rows`);
    const { rows } = await pool.query<{ created_at: Date; id: string }>(
      `SELECT created_at, id FROM deliveries WHERE operator_id = $1 ORDER BY created_at DESC OFFSET 2500 LIMIT 1`,
      [operatorId],
    );
    const cursor = decodeCursor(encodeCursor({ createdAt: rows[0]!.created_at, id: rows[0]!.id }));
    const deep = rowsRead(await deliveries({}, cursor), 'deliveries');
    assert.ok(deep <= LIMIT, `a page half-way down read ${deep} rows`);
  });

  it("an affiliate's deliveries: each of its endpoints gives at most a page", async () => {
    const common = rowsRead(await deliveries({ affiliateId: 'aff-2' }), 'deliveries');
    assert.ok(common <= 2 * LIMIT, `an affiliate with two endpoints read ${common} rows`);
    const rare = rowsRead(await deliveries({ affiliateId: 'aff-rare' }), 'deliveries');
    assert.ok(rare <= LIMIT, `an affiliate with 5 deliveries among 5,000 read ${rare} rows`);
    const none = rowsRead(await deliveries({ affiliateId: 'aff-nobody' }), 'deliveries');
    assert.equal(none, 0, 'an affiliate with no endpoint reads no delivery');
  });

  it("an affiliate's commissions, first page", async () => {
    const plan = await planOf((db) => listCommissions(db, operatorId, 'aff-3', { limit: LIMIT }));
    // The page's entries from the affiliate's index, then one lookup of each in the commissions view.
    const read = rowsRead(plan, 'commission_entries');
    assert.ok(read <= 3 * LIMIT, `read ${read} rows of the affiliate's ${Math.floor(DELIVERIES / 6)}`);
  });

  it("a source's recent requests, first page", async () => {
    const sourceId = `src_${tag}r`;
    await pool.query(
      `INSERT INTO inbound_requests (id, operator_id, source_id, created_at, method, ip, status)
       SELECT 'inr_' || $3 || i, $1, $2, now() - i * interval '1 second', 'POST', '127.0.0.1', 202
         FROM generate_series(1, 3000) i`,
      [operatorId, sourceId, tag],
    );
    await pool.query('ANALYZE inbound_requests');
    const plan = await planOf((db) => listInboundRequests(db, operatorId, sourceId, LIMIT, null));
    const read = rowsRead(plan, 'inbound_requests');
    assert.ok(read <= LIMIT, `read ${read} of the source's 3,000 requests`);
  });
});

describe('paging through rows that share a millisecond', () => {
  it('gives every delivery once, in list order, with and without the affiliate filter', async () => {
    // Eight deliveries of one affiliate's endpoint within one millisecond, microseconds apart.
    const ep = `ep_${tag}0`;
    const ids = Array.from({ length: 8 }, (_, i) => `dlv_${tag}ms${i}`);
    await pool.query(
      `INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, status, retry_policy, workflow_id,
                               created_at)
       SELECT t.id, $1, 'evt-' || t.ord, $2, 'deposit.completed', 'failed', '{}', 'wf', 
              '2030-01-01T00:00:00.123Z'::timestamptz + (t.ord * interval '100 microseconds')
         FROM unnest($3::text[]) WITH ORDINALITY AS t(id, ord)`,
      [operatorId, ep, ids],
    );
    for (const filter of [
      { status: 'failed' },
      { status: 'failed', affiliateId: 'aff-0' },
    ] as DeliveryFilter[]) {
      const seen: string[] = [];
      let cursor: { createdAt: string; id: string } | null = null;
      for (let page = 0; page < 20; page++) {
        const rows = await listDeliveries(
          pool,
          operatorId,
          { ...filter, since: '2029-12-31T00:00:00Z' },
          3,
          cursor,
        );
        seen.push(...rows.slice(0, 2).map((d) => d.id));
        if (rows.length < 3) break;
        cursor = decodeCursor(encodeCursor(rows[1]!));
      }
      // Same millisecond: the tie-breaker (id, descending) orders them.
      assert.deepEqual(seen, [...ids].sort().reverse(), JSON.stringify(filter));
    }
  });
});
