import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { settleCustomerTx } from '../../src/commission/settle.js';
import { upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import type { Deal } from '../../src/domain/commission/deals.js';
import type { RevshareAccount } from '../../src/domain/commission/revshare.js';
import { bodyHash } from '../../src/body-hash.js';
import { testEnv } from '../support/env.js';

/**
 * No commission falls through: an event settled before its customer's affiliate was known is evaluated
 * again when the attribution arrives, and a `revenue.daily` is one figure per (customer, day, currency),
 * so a corrected day sent under a new id replaces the figure and pays only the difference.
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_late${randomBase62(10)}`;
const now = Date.now();
const at = (minutes: number) => new Date(now - 3_600_000 + minutes * 60_000).toISOString();

before(async () => {
  pool = createPool(env.databaseUrl, 4);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'late attribution']);
});
after(async () => {
  await pool?.end();
});

async function affiliate(deal: Deal) {
  const affiliateId = `aff-${randomBase62(10)}`;
  await upsertAffiliate(pool, operatorId, affiliateId, { name: 'late', status: 'active', deal });
  return { affiliateId, customerId: `${affiliateId}-cust` };
}

async function record(
  customerId: string,
  type: string,
  occurredAt: string,
  data: Record<string, unknown>,
  attribution?: { affiliateId: string },
) {
  const id = `${customerId}-${randomBase62(6)}`;
  const payload = { id, type, occurredAt, customerId, ...(attribution ? { attribution } : {}), data };
  await pool.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id, facts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      operatorId,
      id,
      type,
      occurredAt,
      customerId,
      payload,
      bodyHash(payload),
      `event:${operatorId}:${id}`,
      { effectiveAttribution: attribution ?? null, ftd: false },
    ],
  );
  return id;
}

const settle = (customerId: string) =>
  withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));

async function accruals(customerId: string) {
  const { rows } = await pool.query<{ event_id: string; amount: string }>(
    `SELECT event_id, amount::text FROM commission_entries
      WHERE operator_id = $1 AND customer_id = $2 AND kind = 'accrual' ORDER BY created_at, event_id`,
    [operatorId, customerId],
  );
  return rows;
}

describe('an event settled before its attribution is known', () => {
  it('is evaluated again when the registration binds the customer, and earns its commission once', async () => {
    const { affiliateId, customerId } = await affiliate({
      model: 'lot',
      amountPerLot: '4.00',
      currency: 'USD',
      holdPeriod: '1d',
      clawbackWindow: '2d',
    });
    await pool.query('INSERT INTO customers (operator_id, customer_id) VALUES ($1, $2)', [
      operatorId,
      customerId,
    ]);
    // A trade without attribution, then an event that carries its own: the settlement it triggers runs
    // before the registration is applied, and the trade has no deal to be paid under yet.
    const trade = await record(customerId, 'trade.closed', at(1), {
      tradeId: 't1',
      accountId: 'a1',
      instrument: 'EURUSD',
      lots: '2.5',
    });
    await record(customerId, 'customer.kyc_changed', at(2), { kycStatus: 'verified' }, { affiliateId });
    await settle(customerId);
    assert.deepEqual(await accruals(customerId), []);

    // The registration arrives and binds the customer (as applyEvent does); its settlement pays the trade.
    await pool.query('UPDATE customers SET attribution = $3 WHERE operator_id = $1 AND customer_id = $2', [
      operatorId,
      customerId,
      { affiliateId },
    ]);
    await record(customerId, 'customer.registered', at(0), { country: 'DE' }, { affiliateId });
    await settle(customerId);
    assert.deepEqual(await accruals(customerId), [{ event_id: trade, amount: '10.00000000' }]);
    // And only once.
    await record(customerId, 'customer.kyc_changed', at(3), { kycStatus: 'verified' });
    await settle(customerId);
    assert.deepEqual(await accruals(customerId), [{ event_id: trade, amount: '10.00000000' }]);
  });
});

describe('revenue.daily is one figure per customer, day and currency', () => {
  it('a corrected day under a new id replaces the figure: the difference is paid, never the day twice', async () => {
    const deal: Deal = {
      model: 'revshare',
      percent: '25',
      negativeCarryover: true,
      holdPeriod: '1d',
      clawbackWindow: '2d',
    };
    const { affiliateId, customerId } = await affiliate(deal);
    await pool.query('INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)', [
      operatorId,
      customerId,
      { affiliateId },
    ]);
    const day = at(0).slice(0, 10);
    const revenue = (ngr: string, minute: number) =>
      record(customerId, 'revenue.daily', at(minute), { date: day, ngr, currency: 'EUR' });

    await revenue('100.00', 1);
    await settle(customerId);
    const correction = await revenue('160.00', 2); // the operator's corrected figure for the same day
    await settle(customerId);
    const paid = await accruals(customerId);
    assert.deepEqual(
      paid.map((p) => p.amount),
      ['25.00000000', '15.00000000'],
      'the correction pays 25% of the 60.00 it adds',
    );
    assert.equal(paid[1]!.event_id, correction);

    await revenue('120.00', 3); // corrected down: nothing is paid and the 40.00 is netted
    await settle(customerId);
    assert.equal((await accruals(customerId)).length, 2);
    const { rows } = await pool.query<{ account: RevshareAccount }>(
      `SELECT account FROM revshare_accounts WHERE operator_id = $1 AND affiliate_id = $2 AND currency = 'EUR'`,
      [operatorId, affiliateId],
    );
    assert.equal(rows[0]!.account.level, '120.00', 'the account holds the day once, at its last figure');
  });
});
