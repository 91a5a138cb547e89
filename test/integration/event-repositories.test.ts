/**
 * The events and customers repositories against PostgreSQL: what each statement records, read back from
 * the rows. The rules these rows serve are tested without PostgreSQL (test/unit/attribution.test.ts,
 * test/unit/first-deposit.test.ts); their use in applying events is tested end to end (events.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  bindCustomer,
  claimFirstDeposit,
  customerAttribution,
  lockCustomer,
} from '../../src/db/customers.js';
import { findBindingRegistration } from '../../src/db/event-application.js';
import { findEvent, markWorkflowStarted, recordEmittedEvent, recordEventBatch } from '../../src/db/events.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createOperator } from '../../src/db/operators.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { testEnv } from '../support/env.js';

const env = testEnv();
let pool: Pool;
let operatorId: string;

before(async () => {
  pool = createPool(env.databaseUrl, 2);
  operatorId = (await createOperator(pool, 'repositories')).operator.id;
});
after(async () => {
  await pool?.end();
});

const emitted = (eventId: string) => ({
  operatorId,
  eventId,
  type: 'commission.accrued',
  occurredAt: '2026-01-02T03:04:05.000Z',
  customerId: 'cus-1',
  payload: { id: eventId, data: { amount: '1.00' } },
  bodyHash: 'h',
  workflowId: `event:${operatorId}:${eventId}`,
  commissionEntryId: null,
  inFeed: true,
});

describe('the events repository', () => {
  it('records an emitted event with facts as processed (and settled when asked), once', async () => {
    const id = `sys~${randomBase62(8)}`;
    const facts = { effectiveAttribution: { affiliateId: 'aff-1' }, ftd: false };
    assert.deepEqual(await recordEmittedEvent(pool, { ...emitted(id), facts, settled: true }), {
      inserted: true,
    });
    assert.deepEqual(await recordEmittedEvent(pool, { ...emitted(id), facts: null }), { inserted: false });
    const row = (await findEvent(pool, operatorId, id))!;
    assert.equal(row.status, 'processed');
    assert.deepEqual(row.facts, facts);
    assert.ok(row.processedAt && row.settledAt);
  });

  it('records an emitted event without facts as received, for its workflow to apply', async () => {
    const id = `sys~${randomBase62(8)}`;
    await recordEmittedEvent(pool, { ...emitted(id), facts: null });
    const row = (await findEvent(pool, operatorId, id))!;
    assert.equal(row.status, 'received');
    assert.equal(row.facts, null);
    assert.equal(row.processedAt, null);
    assert.equal(row.settledAt, null);
  });

  it('records a batch, telling new rows from stored ones, and marks many started and acknowledged', async () => {
    const [a, b] = [randomBase62(8), randomBase62(8)];
    const item = (eventId: string, bodyHash: string) => ({
      eventId,
      type: 'customer.registered',
      occurredAt: '2026-01-02T03:04:05.000Z',
      customerId: 'cus-2',
      payload: { id: eventId, attribution: { affiliateId: 'aff-2' }, data: {} },
      bodyHash,
      workflowId: `event:${operatorId}:${eventId}`,
    });
    const first = await recordEventBatch(pool, operatorId, [item(a, 'ha')], null);
    assert.deepEqual(first.get(a), { inserted: true, bodyHash: 'ha', acknowledged: false });
    await markWorkflowStarted(pool, operatorId, [a], true);
    const second = await recordEventBatch(pool, operatorId, [item(a, 'other'), item(b, 'hb')], null);
    assert.deepEqual(second.get(a), { inserted: false, bodyHash: 'ha', acknowledged: true });
    assert.deepEqual(second.get(b), { inserted: true, bodyHash: 'hb', acknowledged: false });
    const stored = (await findEvent(pool, operatorId, a))!;
    assert.deepEqual(stored.payload, item(a, 'ha').payload);
    assert.ok(stored.workflowStartedAt && stored.acknowledgedAt);
    const registration = await findBindingRegistration(pool, operatorId, 'cus-2');
    assert.equal(registration?.eventId, a);
    assert.deepEqual(registration?.payload.attribution, { affiliateId: 'aff-2' });
  });
});

describe('the customers repository', () => {
  it('binds a new customer in the insert that creates it, and leaves one that exists to be bound', async () => {
    const customerId = `cus-${randomBase62(8)}`;
    const at = new Date('2026-01-02T03:04:05.000Z');
    const binding = {
      attribution: { affiliateId: 'aff-4' },
      byEventId: 'reg-4',
      country: 'CY',
      registeredAt: at,
    };
    const created = await withTransaction(pool, (tx) => lockCustomer(tx, operatorId, customerId, binding));
    assert.deepEqual(created, {
      attribution: { affiliateId: 'aff-4' },
      ftdEventId: null,
      country: 'CY',
      bound: true,
    });
    const { rows } = await pool.query(
      `SELECT attributed_by_event_id, registered_at FROM customers WHERE operator_id = $1 AND customer_id = $2`,
      [operatorId, customerId],
    );
    assert.deepEqual(rows[0], { attributed_by_event_id: 'reg-4', registered_at: at });
    // Another registration's binding is not written over it: the row exists, it is only locked and read.
    const other = { ...binding, attribution: { affiliateId: 'aff-5' }, byEventId: 'reg-5', country: 'GR' };
    const again = await withTransaction(pool, (tx) => lockCustomer(tx, operatorId, customerId, other));
    assert.deepEqual(again, {
      attribution: { affiliateId: 'aff-4' },
      ftdEventId: null,
      country: 'CY',
      bound: false,
    });
  });

  it('creates and locks a customer, binds it to a registration, and records its FTD', async () => {
    const customerId = `cus-${randomBase62(8)}`;
    const at = new Date('2026-01-02T03:04:05.000Z');
    await withTransaction(pool, async (tx) => {
      assert.deepEqual(await lockCustomer(tx, operatorId, customerId), {
        attribution: null,
        ftdEventId: null,
        country: null,
        bound: false,
      });
      const binding = {
        attribution: { affiliateId: 'aff-3' },
        byEventId: 'reg',
        country: 'MT',
        registeredAt: at,
      };
      await bindCustomer(tx, operatorId, customerId, binding);
      await claimFirstDeposit(tx, operatorId, customerId, {
        eventId: 'dep',
        depositId: 'd-1',
        amount: '25.50',
        currency: 'EUR',
        at,
      });
    });
    const locked = await withTransaction(pool, (tx) => lockCustomer(tx, operatorId, customerId));
    assert.deepEqual(locked, {
      attribution: { affiliateId: 'aff-3' },
      ftdEventId: 'dep',
      country: 'MT',
      bound: false,
    });
    assert.deepEqual(await customerAttribution(pool, operatorId, customerId), { affiliateId: 'aff-3' });
    assert.equal(await customerAttribution(pool, operatorId, 'no-such-customer'), null);
    const { rows } = await pool.query(
      `SELECT country, registered_at, attributed_by_event_id, ftd_deposit_id, ftd_amount::text, ftd_currency, ftd_at
         FROM customers WHERE operator_id = $1 AND customer_id = $2`,
      [operatorId, customerId],
    );
    assert.deepEqual(rows[0], {
      country: 'MT',
      registered_at: at,
      attributed_by_event_id: 'reg',
      ftd_deposit_id: 'd-1',
      ftd_amount: '25.50000000',
      ftd_currency: 'EUR',
      ftd_at: at,
    });
  });
});
