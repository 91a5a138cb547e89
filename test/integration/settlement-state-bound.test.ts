import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approveDueTx, settleCustomerTx } from '../../src/commission/settle.js';
import { listCommissions, upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { bodyHash } from '../../src/body-hash.js';
import { testEnv } from '../support/env.js';

/**
 * A trader under a lot deal with a 30-day hold has tens of thousands of pending commissions. What the
 * customer's workflow receives from each step (and carries through continue-as-new) must not grow with
 * them: the earliest hold end and a count, never the list (Temporal refuses a payload over 2 MB).
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_bound${randomBase62(10)}`;
const SMALL = 3;
const LARGE = 400;

before(async () => {
  pool = createPool(env.databaseUrl, 4);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'state bound']);
});
after(async () => {
  await pool?.end();
});

/** A new trader under a lot deal with a 30-day hold, attributed to a new affiliate. */
async function newTrader() {
  const affiliateId = `aff-${randomBase62(10)}`;
  await upsertAffiliate(pool, operatorId, affiliateId, {
    name: 'ib',
    status: 'active',
    deal: { model: 'lot', amountPerLot: '5.00', currency: 'USD', holdPeriod: '30d', clawbackWindow: '60d' },
  });
  const customerId = `${affiliateId}-trader`;
  await pool.query('INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)', [
    operatorId,
    customerId,
    { affiliateId },
  ]);
  return { affiliateId, customerId };
}

/** Records the trader's closed trade number `i`, `i` seconds after `t0`. */
async function recordTrade(customerId: string, t0: number, i: number) {
  const id = `${customerId}-t${String(i).padStart(6, '0')}`;
  const occurredAt = new Date(t0 + i * 1000).toISOString();
  const payload = {
    id,
    type: 'trade.closed',
    occurredAt,
    customerId,
    data: {
      tradeId: `t${String(i).padStart(6, '0')}`,
      accountId: `mt5-${customerId}`,
      instrument: 'EURUSD',
      lots: '1',
    },
  };
  await pool.query(
    // Stands for an event the API recorded and started: marked started, so that no start reconciler (the
    // e2e worker's, on this shared database) starts thousands of workflows for it.
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         workflow_started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
    [operatorId, id, 'trade.closed', occurredAt, customerId, payload, bodyHash(payload), `event:${id}`],
  );
  return id;
}

/** Settles until no event is left: a step stops at its time budget and says `more`. */
async function settleAll(customerId: string) {
  for (;;) {
    const r = await withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));
    if (!r.more) return r;
  }
}

/** The customer's stored evaluator state, in bytes as PostgreSQL stores its text. */
async function stateBytes(customerId: string): Promise<number> {
  const { rows } = await pool.query<{ bytes: number }>(
    `SELECT octet_length(state::text) AS bytes FROM commission_customers
      WHERE operator_id = $1 AND customer_id = $2`,
    [operatorId, customerId],
  );
  return rows[0]!.bytes;
}

/** A trader with `trades` closed trades settled and pending; returns the result of one more step. */
async function stepAfter(trades: number) {
  const { customerId } = await newTrader();
  const t0 = Date.now() - 3_600_000;
  for (let i = 0; i < trades; i++) await recordTrade(customerId, t0, i);
  await settleAll(customerId);
  await recordTrade(customerId, t0, trades);
  return withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));
}

/** Records a commission event of the customer (not a trade). */
async function record(customerId: string, type: string, data: Record<string, unknown>) {
  const id = `${customerId}-${randomBase62(8)}`;
  const occurredAt = new Date(Date.now() - 60_000).toISOString();
  const payload = { id, type, occurredAt, customerId, data };
  await pool.query(
    // Stands for an event the API recorded and started: marked started, so that no start reconciler (the
    // e2e worker's, on this shared database) starts thousands of workflows for it.
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         workflow_started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
    [operatorId, id, type, occurredAt, customerId, payload, bodyHash(payload), `event:${id}`],
  );
  return id;
}

async function statusesOf(affiliateId: string) {
  const items = await listCommissions(pool, operatorId, affiliateId, { limit: 100 });
  return items.map((c) => c.status).sort();
}

describe('customer state carried by the workflow', () => {
  it('a step reports the earliest hold and a count, the same size with 3 or 400 pending', async () => {
    const small = await stepAfter(SMALL);
    const large = await stepAfter(LARGE);
    const { dispatch: _s, ...smallStep } = small;
    const { dispatch: _l, ...largeStep } = large;
    const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
    assert.ok(
      bytes(largeStep) <= bytes(smallStep) + 8,
      `a step with ${LARGE + 1} pending is ${bytes(largeStep)} bytes, with ${SMALL + 1} ${bytes(smallStep)} bytes`,
    );
  });
});

/**
 * What the customer's state row keeps between settlements must not grow with the events settled: before,
 * it kept every event id and every commission ever accrued, and each settlement read and rewrote it all.
 */
describe('customer state stored between settlements', () => {
  it('stays the same size as 2,000 more trades settle: 0 bytes per commission, open or closed', async () => {
    const { customerId } = await newTrader();
    const t0 = Date.now() - 7_200_000;
    for (let i = 0; i < 10; i++) await recordTrade(customerId, t0, i);
    await settleAll(customerId);
    const after10 = await stateBytes(customerId);
    for (let i = 10; i < 2010; i++) await recordTrade(customerId, t0, i);
    const last = await settleAll(customerId);
    assert.equal(last.pending, 2010, 'every trade earned its pending commission');
    const after2010 = await stateBytes(customerId);
    assert.ok(
      after2010 <= after10,
      `state after 2,010 settled trades: ${after2010} bytes; after 10: ${after10} bytes`,
    );
    // Half of them approved (closed to compensation by a hold): still the same size.
    const at = new Date(t0 + 30 * 86_400_000 + 1005 * 1000).toISOString();
    for (;;) {
      const r = await withTransaction(pool, (tx) => approveDueTx(tx, { operatorId, customerId, at }));
      if (!r.booked.length) break;
    }
    await recordTrade(customerId, t0, 2010);
    const after = await settleAll(customerId);
    assert.equal(after.pending, 2010 - 1006 + 1);
    assert.ok((await stateBytes(customerId)) <= after10);
  });

  it('the earliest hold and the pending count are read from the open holds index', async () => {
    const { customerId } = await newTrader();
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 50; i++) await recordTrade(customerId, t0, i);
    await settleAll(customerId);
    await pool.query('ANALYZE commission_holds');
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT commission_id, hold_until FROM commission_holds
        WHERE operator_id = $1 AND customer_id = $2 ORDER BY hold_until, commission_id LIMIT 1`,
      [operatorId, customerId],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /Index (Only )?Scan using commission_holds_customer/, plan);
  });

  it('a fraud flag still undoes every open commission the state no longer lists: pending rejected, approved reversed', async () => {
    const { affiliateId, customerId } = await newTrader();
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 4; i++) await recordTrade(customerId, t0, i);
    await settleAll(customerId);
    // The first two approved by hand (nothing else moves them before the 30-day hold ends).
    const at = new Date(t0 + 30 * 86_400_000 + 1500).toISOString();
    await withTransaction(pool, (tx) => approveDueTx(tx, { operatorId, customerId, at }));
    assert.deepEqual(await statusesOf(affiliateId), ['approved', 'approved', 'pending', 'pending']);
    await record(customerId, 'customer.fraud_flagged', { flag: 'multi-account', severity: 'high' });
    const r = await settleAll(customerId);
    assert.equal(r.pending, 0);
    assert.deepEqual(await statusesOf(affiliateId), [
      'rejected',
      'rejected',
      'reversed',
      'reversed',
      'reversed',
      'reversed',
    ]);
  });

  it('a challenge refund settled after its purchase still rejects the challenge commission', async () => {
    const affiliateId = `aff-${randomBase62(10)}`;
    await upsertAffiliate(pool, operatorId, affiliateId, {
      name: 'prop',
      status: 'active',
      deal: { model: 'challenge', percent: '10', holdPeriod: '14d', clawbackWindow: '60d' },
    });
    const customerId = `${affiliateId}-buyer`;
    await pool.query('INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)', [
      operatorId,
      customerId,
      { affiliateId },
    ]);
    const challenge = { planId: 'p1', price: '100.00', currency: 'USD' };
    await record(customerId, 'challenge.purchased', { challengeId: 'c1', ...challenge });
    await record(customerId, 'challenge.purchased', { challengeId: 'c2', ...challenge });
    await settleAll(customerId);
    await record(customerId, 'challenge.refunded', { challengeId: 'c1', amount: '100.00', currency: 'USD' });
    const r = await settleAll(customerId);
    assert.equal(r.pending, 1);
    assert.deepEqual(await statusesOf(affiliateId), ['pending', 'rejected']);
  });
});
