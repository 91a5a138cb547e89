import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { settleCustomerTx } from '../../src/commission/settle.js';
import { upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import type { Deal } from '../../src/domain/commission/deals.js';
import { tieredCommission, type RevshareAccount } from '../../src/domain/commission/revshare.js';
import { add, sum } from '../../src/domain/money.js';
import { bodyHash } from '../../src/body-hash.js';
import { testEnv } from '../support/env.js';

/**
 * Customers of one affiliate settle in separate workflows, so their settlements run at the same time and
 * meet only at the affiliate's RevShare account. Whatever the interleaving, the account must end as if
 * they had settled one by one: every customer's NGR in its level, and the commission paid the tiered
 * commission on the level paid up to.
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_race${randomBase62(10)}`;
const CUSTOMERS = 24;

const deal: Deal = {
  model: 'revshare',
  percent: '20',
  tiers: [{ fromNgr: '500', percent: '40' }],
  negativeCarryover: true,
  holdPeriod: '30d',
  clawbackWindow: '60d',
};

before(async () => {
  pool = createPool(env.databaseUrl, CUSTOMERS + 2);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'settlement race']);
});
after(async () => {
  await pool?.end();
});

async function record(customerId: string, id: string, type: string, data: Record<string, unknown>) {
  const occurredAt = '2026-03-10T12:00:00.000Z';
  const payload = { id, type, occurredAt, customerId, data };
  await pool.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [operatorId, id, type, occurredAt, customerId, payload, bodyHash(payload), `event:${operatorId}:${id}`],
  );
}

/** A new affiliate with `ngrs.length` registered customers, each with one day of revenue. */
async function newAffiliateWithRevenue(ngrs: string[]) {
  const affiliateId = `aff-${randomBase62(10)}`;
  await upsertAffiliate(pool, operatorId, affiliateId, { name: 'new', status: 'active', deal });
  const customers: string[] = [];
  for (const [i, ngr] of ngrs.entries()) {
    const customerId = `${affiliateId}-c${i}`;
    customers.push(customerId);
    await pool.query('INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)', [
      operatorId,
      customerId,
      { affiliateId },
    ]);
    await record(customerId, `${customerId}-rev`, 'revenue.daily', {
      date: '2026-03-10',
      ngr,
      currency: 'EUR',
    });
  }
  return { affiliateId, customers };
}

async function outcome(affiliateId: string) {
  const { rows } = await pool.query<{ account: RevshareAccount | null; paid: string }>(
    `SELECT (SELECT account FROM revshare_accounts
              WHERE operator_id = $1 AND affiliate_id = $2 AND currency = 'EUR') AS account,
            (SELECT coalesce(sum(amount), 0)::text FROM commission_entries
              WHERE operator_id = $1 AND affiliate_id = $2 AND kind = 'accrual') AS paid`,
    [operatorId, affiliateId],
  );
  return rows[0]!;
}

const settle = (customerId: string) =>
  withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));

describe('RevShare: many customers of a new affiliate settling at once', () => {
  // Every third customer lost money that day: their negative NGR must be netted against the others'.
  const ngrs = Array.from({ length: CUSTOMERS }, (_, i) => (i % 3 === 2 ? '-45.50' : `${60 + i}.25`));
  const total = sum(ngrs);

  it('one by one: the account holds every customer’s NGR (the reference)', async () => {
    const { affiliateId, customers } = await newAffiliateWithRevenue(ngrs);
    for (const c of customers) await settle(c);
    const { account } = await outcome(affiliateId);
    assert.equal(add(account!.level, '0'), add(total, '0'));
  });

  it('at once: the same account and the tiered commission on it, as if one by one', async () => {
    for (let round = 0; round < 3; round++) {
      const { affiliateId, customers } = await newAffiliateWithRevenue(ngrs);
      await Promise.all(customers.map((c) => settle(c)));
      const { account, paid } = await outcome(affiliateId);
      assert.ok(account, 'the affiliate has a RevShare account');
      assert.equal(
        account.level,
        total,
        `round ${round}: every customer's NGR is in the account (level ${account.level}, expected ${total})`,
      );
      assert.equal(
        Number(paid).toFixed(2),
        tieredCommission(deal, account.paidUpTo, 'EUR'),
        `round ${round}: paid the tiered commission on the level paid up to`,
      );
    }
  });
});
