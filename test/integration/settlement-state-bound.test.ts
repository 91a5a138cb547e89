import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { settleCustomerTx } from '../../src/commission/settle.js';
import { upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { bodyHash } from '../../src/ingest/body-hash.js';
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

/** A trader with `trades` closed trades settled and pending; returns the result of one more step. */
async function stepAfter(trades: number) {
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
  const t0 = Date.now() - 3_600_000;
  const insert = async (i: number) => {
    const id = `${customerId}-t${String(i).padStart(6, '0')}`;
    const occurredAt = new Date(t0 + i * 1000).toISOString();
    const payload = {
      id,
      type: 'trade.closed',
      occurredAt,
      customerId,
      data: {
        tradeId: `t${String(i).padStart(6, '0')}`,
        accountId: 'mt5-1',
        instrument: 'EURUSD',
        lots: '1',
      },
    };
    await pool.query(
      `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [operatorId, id, 'trade.closed', occurredAt, customerId, payload, bodyHash(payload), `event:${id}`],
    );
  };
  for (let i = 0; i < trades; i++) await insert(i);
  const settle = () => withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));
  await settle();
  await insert(trades);
  return settle();
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
