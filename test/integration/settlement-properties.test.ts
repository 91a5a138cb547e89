import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  approveDueTx,
  decideTx,
  holdsOf,
  settleCustomerTx,
  type SettlementResult,
} from '../../src/commission/settle.js';
import { upsertAffiliate } from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { bodyHash } from '../../src/body-hash.js';
import { testEnv } from '../support/env.js';
import { assertLedgerInvariants, at, historyDeal, specArb, toEvent } from '../support/ledger-fixtures.js';

/**
 * Property: random customer histories through the settlement code the entity workflow runs (one
 * transaction per step), interleaved with hold timers, decisions by hand, crashes that roll a settlement
 * back, and replays of every step. Whatever the order, the ledger's invariants hold: balances equal the
 * sum of the entries, one accrual per cause and rule, one reversal per accrual, nothing both approved and
 * rejected; and every event is settled exactly once.
 */
const env = testEnv();
let pool: Pool;
const operatorId = `op_settle${randomBase62(10)}`;

before(async () => {
  pool = createPool(env.databaseUrl, 4);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'settlement properties']);
});
after(async () => {
  await pool?.end();
});

type Step =
  | { t: 'event'; day: number; spec: Parameters<typeof toEvent>[2] }
  | { t: 'timer'; day: number }
  | { t: 'decide'; approve: boolean; pick: number; day: number }
  | { t: 'crash' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: specArb.map(({ day, spec }) => ({ t: 'event' as const, day, spec })) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('timer' as const), day: fc.integer({ min: 1, max: 80 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('decide' as const),
      approve: fc.boolean(),
      pick: fc.nat({ max: 5 }),
      day: fc.integer({ min: 1, max: 80 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

async function recordEvent(customerId: string, affiliateId: string, id: string, day: number, step: Step) {
  if (step.t !== 'event') return;
  const e = toEvent(id, day, step.spec);
  const payload = {
    id,
    type: e.type,
    occurredAt: e.occurredAt,
    customerId,
    ...(e.type === 'customer.registered' ? { attribution: { affiliateId } } : {}),
    data: e.data,
  };
  await pool.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      operatorId,
      id,
      e.type,
      e.occurredAt,
      customerId,
      payload,
      bodyHash(payload),
      `event:${operatorId}:${id}`,
    ],
  );
}

class Crash extends Error {}

describe('property: settlements, timers, decisions and crashes in any order (fast-check)', () => {
  it('keep the ledger consistent and settle every event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps) => {
        const affiliateId = `aff-${randomBase62(10)}`;
        const customerId = `cust-${randomBase62(10)}`;
        const ref = { operatorId, customerId };
        await upsertAffiliate(pool, operatorId, affiliateId, {
          name: 'p',
          status: 'active',
          deal: historyDeal,
        });
        // Bound at registration, as the event workflow does; settlement reads the binding from here.
        await pool.query(
          'INSERT INTO customers (operator_id, customer_id, attribution) VALUES ($1, $2, $3)',
          [operatorId, customerId, { affiliateId }],
        );
        let crashNext = false;
        const run = async (
          fn: (tx: Parameters<Parameters<typeof withTransaction>[1]>[0]) => Promise<SettlementResult>,
        ) => {
          if (crashNext) {
            crashNext = false;
            // The worker dies before the commit: everything the step did is rolled back.
            await assert.rejects(
              withTransaction(pool, async (tx) => {
                await fn(tx);
                throw new Crash('killed before commit');
              }),
              Crash,
            );
          }
          const result = await withTransaction(pool, fn);
          // A replayed step (the activity retried after its commit) books nothing.
          const replay = await withTransaction(pool, fn);
          assert.deepEqual(replay.booked, [], 'a replay books nothing');
          return result;
        };

        const all = [{ t: 'event', day: 1, spec: { t: 'reg' } } as Step, ...steps];
        let recorded = 0;
        for (const [i, step] of all.entries()) {
          if (step.t === 'crash') {
            crashNext = true;
            continue;
          }
          if (step.t === 'event') {
            await recordEvent(customerId, affiliateId, `${customerId}-e${i}`, step.day, step);
            recorded += 1;
            await run((tx) => settleCustomerTx(tx, ref));
          } else if (step.t === 'timer') {
            await run((tx) => approveDueTx(tx, { ...ref, at: at(step.day) }));
          } else {
            const holds = await holdsOf(pool, ref);
            const target = holds[step.pick % Math.max(1, holds.length)];
            if (!target) continue;
            await run((tx) =>
              decideTx(tx, ref, {
                commissionId: target.commissionId,
                action: step.approve ? 'approve' : 'reject',
                reason: 'by hand',
                at: at(step.day),
              }),
            );
          }
        }

        await assertLedgerInvariants(pool, operatorId, affiliateId);
        const { rows } = await pool.query(
          `SELECT (SELECT count(*)::int FROM events WHERE operator_id = $1 AND customer_id = $2
                     AND settled_at IS NULL AND commission_entry_id IS NULL) AS unsettled,
                  (SELECT settled FROM commission_customers WHERE operator_id = $1 AND customer_id = $2) AS settled`,
          [operatorId, customerId],
        );
        assert.deepEqual(rows[0], { unsettled: 0, settled: recorded });
        // The evaluator's view of each commission agrees with the ledger once refreshed: settling again
        // (nothing new) books nothing and leaves the holds as the ledger has them.
        const again = await withTransaction(pool, (tx) => settleCustomerTx(tx, ref));
        assert.deepEqual(again.booked, []);
        const holds = await holdsOf(pool, ref);
        assert.deepEqual([again.nextHold, again.pending], [holds[0] ?? null, holds.length]);
      }),
      { numRuns: 40 },
    );
  });
});
