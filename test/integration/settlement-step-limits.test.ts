import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { settleCustomerTx, STEP_LIMITS } from '../../src/commission/settle.js';
import { upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { bodyHash } from '../../src/body-hash.js';
import { testEnv } from '../support/env.js';

/**
 * A settlement step is a local activity with a 30 s timeout, on connections the API shares. An attempt
 * that timed out is retried while it may still run; before, it could go on holding its connection and
 * its row locks (a lock wait, a long fold) with no end, and enough of them left the API without a
 * connection. Now a step folds for a time budget and reports `more`, and its transaction carries lock,
 * statement and idle limits below the timeout, so PostgreSQL ends what the attempt no longer drives.
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_limits${randomBase62(10)}`;

before(async () => {
  pool = createPool(env.databaseUrl, 2);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'step limits']);
});
after(async () => {
  await pool?.end();
});

async function trader(trades: number) {
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
  for (let i = 0; i < trades; i++) {
    const id = `${customerId}-t${i}`;
    const occurredAt = new Date(t0 + i * 1000).toISOString();
    const payload = {
      id,
      type: 'trade.closed',
      occurredAt,
      customerId,
      data: { tradeId: `t${i}`, accountId: customerId, instrument: 'EURUSD', lots: '1' },
    };
    await pool.query(
      `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [operatorId, id, 'trade.closed', occurredAt, customerId, payload, bodyHash(payload), `event:${id}`],
    );
  }
  return { operatorId, customerId };
}

describe('a settlement step cannot outlive its attempt on a pooled connection', () => {
  it('a step past its time budget commits what it folded and says more; the next step goes on', async () => {
    const ref = await trader(5);
    const first = await withTransaction(pool, (tx) => settleCustomerTx(tx, ref, { budgetMs: 0 }));
    assert.equal(first.settled.length, 1, 'one event, then the budget is spent');
    assert.equal(first.more, true);
    let settled = first.settled.length;
    for (;;) {
      const r = await withTransaction(pool, (tx) => settleCustomerTx(tx, ref, { budgetMs: 0 }));
      settled += r.settled.length;
      if (!r.more) break;
    }
    assert.equal(settled, 5);
  });

  it('a step aborted by its attempt stops before its next event and rolls back', async () => {
    const ref = await trader(3);
    const abort = new AbortController();
    abort.abort(new Error('attempt timed out'));
    await assert.rejects(
      withTransaction(pool, (tx) => settleCustomerTx(tx, ref, { signal: abort.signal })),
      /attempt timed out/,
    );
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND customer_id = $2 AND settled_at IS NOT NULL',
      [ref.operatorId, ref.customerId],
    );
    assert.equal(rows[0].n, 0);
  });

  it('a step waiting on a lock gives up within lock_timeout and frees its connection', async () => {
    const ref = await trader(1);
    await withTransaction(pool, (tx) => settleCustomerTx(tx, ref));
    // Someone else holds the customer's row (a stuck earlier attempt, say).
    const holder = new pg.Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        'SELECT 1 FROM commission_customers WHERE operator_id = $1 AND customer_id = $2 FOR UPDATE',
        [ref.operatorId, ref.customerId],
      );
      const started = Date.now();
      const step = withTransaction(pool, (tx) => settleCustomerTx(tx, ref)).then(
        () => 'settled',
        (err: { code?: string }) => err.code ?? 'error',
      );
      const waited = STEP_LIMITS.lockMs + 5_000;
      const outcome = await Promise.race([
        step,
        new Promise((resolve) => setTimeout(() => resolve(`still waiting after ${waited} ms`), waited)),
      ]);
      assert.equal(outcome, '55P03', 'lock_not_available');
      assert.ok(Date.now() - started < STEP_LIMITS.lockMs + 2_000);
      // The connection is back in the pool: both of the pool's two serve while the lock is still held.
      const both = await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
      assert.equal(both.length, 2);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('its transaction ends itself when the attempt stops talking mid-way (idle in transaction)', async () => {
    const ref = await trader(1);
    const setting = await withTransaction(pool, async (tx) => {
      await settleCustomerTx(tx, ref);
      const { rows } = await tx.query<{ idle: string; statement: string; lock: string }>(
        `SELECT current_setting('idle_in_transaction_session_timeout') AS idle,
                current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`,
      );
      return rows[0]!;
    });
    assert.deepEqual(setting, {
      idle: `${STEP_LIMITS.idleMs / 1000}s`,
      statement: `${STEP_LIMITS.statementMs / 1000}s`,
      lock: `${STEP_LIMITS.lockMs / 1000}s`,
    });
    // Local to the step's transaction: the pooled connection goes back to the API without them.
    const { rows } = await pool.query<{ s: string }>("SELECT current_setting('statement_timeout') AS s");
    assert.equal(rows[0]!.s, '0');
  });
});
