import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { settleCustomerTx } from '../../src/commission/settle.js';
import { insertEndpoint, newEndpointId } from '../../src/db/endpoints.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import type { Deal } from '../../src/domain/commission/deals.js';
import { bodyHash } from '../../src/body-hash.js';
import { assertDocumentedDetails } from '../support/documented.js';
import { testEnv } from '../support/env.js';

/**
 * A settlement folds a customer's events one by one; one that fails deterministically (a date no hold end
 * can follow, a product past `numeric(28, 8)`, a deal whose windows overflow a date) is parked with its
 * error, and the customer's other events settle as if it had not arrived. The API refuses such events and
 * deals (commissions.test.ts); these get past it as rows written by an older version or by hand.
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_park${randomBase62(10)}`;
const today = () => new Date(Date.now() - 60_000).toISOString();

before(async () => {
  pool = createPool(env.databaseUrl, 4);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'settlement parking']);
});
after(async () => {
  await pool?.end();
});

/** An affiliate stored as it is, unchecked (as an older version or a hand edit may have left it). */
async function affiliateWithRawDeal(deal: object) {
  const affiliateId = `aff-${randomBase62(10)}`;
  await pool.query(
    `INSERT INTO affiliates (operator_id, affiliate_id, name, status, deal) VALUES ($1, $2, 'raw', 'active', $3)`,
    [operatorId, affiliateId, JSON.stringify(deal)],
  );
  const customerId = `${affiliateId}-cust`;
  await pool.query('INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)', [
    operatorId,
    customerId,
    { affiliateId },
  ]);
  return { affiliateId, customerId };
}

async function record(customerId: string, type: string, occurredAt: string, data: Record<string, unknown>) {
  const id = `${customerId}-${randomBase62(6)}`;
  const payload = { id, type, occurredAt, customerId, data };
  await pool.query(
    // Stands for an event the API recorded and started: marked started, so that no start reconciler (the
    // e2e worker's, on this shared database) starts thousands of workflows for it.
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         workflow_started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
    [operatorId, id, type, occurredAt, customerId, payload, bodyHash(payload), `event:${operatorId}:${id}`],
  );
  return id;
}

const settle = (customerId: string) =>
  withTransaction(pool, (tx) => settleCustomerTx(tx, { operatorId, customerId }));

async function settlementOf(eventId: string) {
  const { rows } = await pool.query(
    `SELECT settled_at IS NOT NULL AS settled, settlement_parked_at IS NOT NULL AS parked, settlement_error AS error
       FROM events WHERE operator_id = $1 AND event_id = $2`,
    [operatorId, eventId],
  );
  return rows[0] as { settled: boolean; parked: boolean; error: string | null };
}

async function accrualsOf(customerId: string) {
  const { rows } = await pool.query<{ event_id: string; amount: string }>(
    `SELECT event_id, amount::text FROM commission_entries
      WHERE operator_id = $1 AND customer_id = $2 AND kind = 'accrual' ORDER BY event_id`,
    [operatorId, customerId],
  );
  return rows;
}

const challenge = (price = '500.00') => ({
  challengeId: `c-${randomBase62(8)}`,
  planId: 'p100k',
  price,
  currency: 'USD',
});

describe('a settlement step that fails for one event parks it and settles the rest', () => {
  it('a challenge dated 9999-12-31 is parked with its error; the one dated today earns its commission', async () => {
    const deal: Deal = { model: 'challenge', percent: '10', holdPeriod: '30d', clawbackWindow: '60d' };
    const { customerId } = await affiliateWithRawDeal(deal);
    const poison = await record(customerId, 'challenge.purchased', '9999-12-31T23:59:59Z', challenge());
    const sibling = await record(customerId, 'challenge.purchased', today(), challenge('300.00'));

    const result = await settle(customerId);
    assert.deepEqual(result.settled, [sibling]);
    assert.deepEqual(
      result.parked.map((p) => p.eventId),
      [poison],
    );
    assert.deepEqual(await accrualsOf(customerId), [{ event_id: sibling, amount: '30.00000000' }]);
    const parked = await settlementOf(poison);
    assert.equal(parked.settled, false);
    assert.equal(parked.parked, true);
    assert.ok(parked.error, 'the error is kept for the operator');
    // Parked stays parked: settling again neither retries it nor books anything.
    const again = await settle(customerId);
    assert.deepEqual([again.settled, again.booked], [[], []]);
    assert.deepEqual(
      again.parked.map((p) => p.eventId),
      [poison],
      'still listed for the workflow to show',
    );
  });

  it('a deal whose clawbackWindow overflows a date parks each accrual instead of failing the customer', async () => {
    const { customerId } = await affiliateWithRawDeal({
      model: 'lot',
      amountPerLot: '5.00',
      currency: 'USD',
      holdPeriod: '1d',
      clawbackWindow: '100000000d',
    });
    const status = await record(customerId, 'customer.kyc_changed', today(), { kycStatus: 'verified' });
    const trade = await record(customerId, 'trade.closed', today(), {
      tradeId: 't1',
      accountId: 'a1',
      instrument: 'EURUSD',
      lots: '2',
    });
    const result = await settle(customerId);
    assert.deepEqual(result.settled, [status]);
    assert.deepEqual(
      result.parked.map((p) => p.eventId),
      [trade],
    );
    assert.match((await settlementOf(trade)).error ?? '', /time|date|range/i);
  });

  it('lots x amountPerLot past numeric(28, 8) is parked; a normal trade of the same customer is paid', async () => {
    const { customerId } = await affiliateWithRawDeal({
      model: 'lot',
      amountPerLot: '999999999999999999',
      currency: 'USD',
      holdPeriod: '1d',
      clawbackWindow: '2d',
      instruments: { EURUSD: '7.00' },
    });
    const huge = await record(customerId, 'trade.closed', today(), {
      tradeId: 't-huge',
      accountId: 'a1',
      instrument: 'XAUUSD',
      lots: '999999999999999999',
    });
    const normal = await record(customerId, 'trade.closed', today(), {
      tradeId: 't-normal',
      accountId: 'a1',
      instrument: 'EURUSD',
      lots: '3',
    });
    const result = await settle(customerId);
    assert.deepEqual(result.settled, [normal]);
    assert.deepEqual(
      result.parked.map((p) => p.eventId),
      [huge],
    );
    assert.deepEqual(await accrualsOf(customerId), [{ event_id: normal, amount: '21.00000000' }]);
  });
});

describe('a parked event is announced to the endpoints that name settlement.parked', () => {
  async function endpoint(eventTypes: string[], affiliateId: string | null = null) {
    const id = newEndpointId();
    await insertEndpoint(
      pool,
      operatorId,
      id,
      {
        url: `https://example.com/${id}`,
        description: null,
        eventTypes,
        affiliateId,
        format: 'webhook',
        headers: {},
        retryPolicy: null,
        timeoutMs: 2_000,
        rateLimitPerSecond: null,
        postback: null,
        enabled: true,
      },
      'sealed-secret-not-used',
    );
    return id;
  }

  it('one settlement.parked event with the error, delivered to the exact type and settlement.*, never to * or commission.*', async () => {
    const deal: Deal = { model: 'challenge', percent: '10', holdPeriod: '30d', clawbackWindow: '60d' };
    const { affiliateId, customerId } = await affiliateWithRawDeal(deal);
    const exact = await endpoint(['settlement.parked']);
    const prefix = await endpoint(['settlement.*']);
    await endpoint(['*']);
    await endpoint(['commission.*']);
    await endpoint(['settlement.parked'], affiliateId); // an affiliate's endpoint: not about its business
    const poison = await record(customerId, 'challenge.purchased', '9999-12-31T23:59:59Z', challenge());

    const result = await settle(customerId);
    assert.deepEqual(
      result.parked.map((p) => p.eventId),
      [poison],
    );
    const announced = result.dispatch.notifications.filter((n) => n.type === 'settlement.parked');
    assert.equal(announced.length, 1, 'the step starts its workflow after the commit');
    const { rows } = await pool.query<{ payload: { data: Record<string, unknown> }; endpoints: string[] }>(
      `SELECT e.payload, array(SELECT d.endpoint_id FROM deliveries d
                                WHERE d.operator_id = e.operator_id AND d.event_id = e.event_id
                                ORDER BY d.endpoint_id) AS endpoints
         FROM events e WHERE e.operator_id = $1 AND e.type = 'settlement.parked'`,
      [operatorId],
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]!.endpoints, [exact, prefix].sort());
    const data = rows[0]!.payload.data;
    assertDocumentedDetails('settlement.parked', data);
    assert.equal(data.eventId, poison);
    assert.equal(data.eventType, 'challenge.purchased');
    assert.equal(data.customerId, customerId);
    assert.match(String(data.error), /.+/);
    // Settling again parks nothing new and announces nothing again.
    const again = await settle(customerId);
    assert.deepEqual(again.dispatch.notifications, []);
  });
});
