import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { customerWorkflowId } from '../../src/domain/ids.js';
import { compare, mul } from '../../src/domain/money.js';
import { startSystem, type System } from '../support/system.js';

/**
 * A busy trader's events wake the customer's settlement workflow once per settlement, not once per event.
 * Measured on the volume bench: a burst of 4,000 trades for one customer sent 4,000 signals to one
 * workflow; its history outgrew what a workflow task replays in the SDK's 5 s isolate limit on a busy
 * machine, every task timed out, settlement stopped, and the worker process crashed (a Node fatal error
 * when the isolate's timeout fires). The wake is now a row in PostgreSQL: only the event that creates it
 * signals, and the settlement step removes it before reading what is unsettled.
 */
let sys: System;
let op: { id: string; apiKey: string };
const TRADES = 300;

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator('busy trader');
  const put = await sys.request('PUT', '/v1/affiliates/aff-lot', {
    apiKey: op.apiKey,
    json: {
      name: 'lot affiliate',
      deal: { model: 'lot', amountPerLot: '2.50', currency: 'USD', holdPeriod: '30d', clawbackWindow: '60d' },
    },
  });
  assert.equal(put.status, 201, JSON.stringify(put.body));
});
after(async () => {
  await sys?.stop();
});

const now = () => new Date().toISOString();

async function batch(events: unknown[]) {
  const res = await sys.request('POST', '/v1/events/batch', { apiKey: op.apiKey, json: { events } });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  for (const r of res.body.results) assert.equal(r.status, 'accepted', JSON.stringify(r));
}

const trade = (customerId: string, i: number) => ({
  id: `${customerId}-trade-${i}`,
  type: 'trade.closed',
  occurredAt: now(),
  customerId,
  data: { tradeId: `t-${i}`, accountId: 'acc-1', instrument: 'EURUSD', lots: '1.00' },
});

async function settledTrades(customerId: string): Promise<number> {
  const { rows } = await sys.pool.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM events
      WHERE operator_id = $1 AND customer_id = $2 AND type = 'trade.closed' AND settled_at IS NOT NULL`,
    [op.id, customerId],
  );
  return Number(rows[0]!.n);
}

async function waitSettled(customerId: string, expected: number, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await settledTrades(customerId)) < expected) {
    if (Date.now() > deadline) assert.fail(`${await settledTrades(customerId)} of ${expected} settled`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function signalsReceived(customerId: string): Promise<number> {
  const history = await sys.client.workflow.getHandle(customerWorkflowId(op.id, customerId)).fetchHistory();
  return history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

async function accruals(customerId: string): Promise<{ n: number; total: string }> {
  const { rows } = await sys.pool.query<{ n: string; total: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(amount), 0)::text AS total FROM commission_entries
      WHERE operator_id = $1 AND customer_id = $2 AND kind = 'accrual'`,
    [op.id, customerId],
  );
  return { n: Number(rows[0]!.n), total: rows[0]!.total };
}

describe('waking a busy customer', () => {
  it('when a burst of trades arrives, then the workflow is signalled per settlement, and each trade is booked once', async (t) => {
    const customerId = 'trader-burst';
    await batch([
      {
        id: `${customerId}-reg`,
        type: 'customer.registered',
        occurredAt: now(),
        customerId,
        attribution: { affiliateId: 'aff-lot' },
        data: { country: 'CY' },
      },
    ]);
    const trades = Array.from({ length: TRADES }, (_, i) => trade(customerId, i));
    await batch(trades.slice(0, 150));
    await batch(trades.slice(150));
    await waitSettled(customerId, TRADES);

    const signals = await signalsReceived(customerId);
    t.diagnostic(`${signals} signals for ${TRADES} trades`);
    assert.ok(
      signals <= TRADES / 5,
      `${signals} signals for ${TRADES} trades: every event signalled the customer's workflow`,
    );
    const booked = await accruals(customerId);
    assert.equal(booked.n, TRADES);
    // Money stays decimal: 300 trades of 1.00 lot at 2.50 a lot.
    assert.equal(compare(booked.total, mul(String(TRADES), '2.50')), 0, `booked ${booked.total}`);

    // A trade long after the burst still wakes the workflow: no wake is left behind.
    await batch([trade(customerId, TRADES)]);
    await waitSettled(customerId, TRADES + 1, 30_000);
    // An event can be settled by a step that read it before its own application signalled; the step that
    // signal leads to removes the wake.
    const deadline = Date.now() + 15_000;
    let left = 1;
    while (left && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const { rows } = await sys.pool.query(
        'SELECT 1 FROM customer_wakes WHERE operator_id = $1 AND customer_id = $2',
        [op.id, customerId],
      );
      left = rows.length;
    }
    assert.equal(left, 0, 'the last settlement leaves no wake behind');
  });

  it('when a wake was left by a workflow that is gone, then a new event is not held up for more than its minute', async () => {
    const customerId = 'trader-stale';
    await batch([
      {
        id: `${customerId}-reg`,
        type: 'customer.registered',
        occurredAt: now(),
        customerId,
        attribution: { affiliateId: 'aff-lot' },
        data: { country: 'CY' },
      },
    ]);
    // The registration's own wake, if it wrote one, is taken by its settlement step first: on the full
    // Temporal server the step can still be pending here, and the stale wake below must be the only one.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await sys.pool.query<{ quiet: boolean }>(
        `SELECT (SELECT status FROM events WHERE operator_id = $1 AND event_id = $2) = 'processed'
                AND NOT EXISTS (SELECT 1 FROM customer_wakes WHERE operator_id = $1 AND customer_id = $3) AS quiet`,
        [op.id, `${customerId}-reg`, customerId],
      );
      if (rows[0]?.quiet) break;
      if (Date.now() > deadline) assert.fail('the registration was not applied and settled within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // As if a settlement workflow had been terminated by hand after its wake was written.
    await sys.pool.query(
      `INSERT INTO customer_wakes (operator_id, customer_id, requested_at) VALUES ($1, $2, now() - interval '2 minutes')`,
      [op.id, customerId],
    );
    await batch([trade(customerId, 0)]);
    await waitSettled(customerId, 1, 30_000);
  });
});
