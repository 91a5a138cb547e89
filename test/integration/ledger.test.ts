/**
 * The commission ledger against real PostgreSQL (issue #6): append-only entries, idempotent bookings,
 * refused illegal transitions, serialised compensations, and balances that always equal the entries.
 * The last two suites are property tests: random sequences of ledger operations, and random customer
 * histories run through the evaluator into the ledger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  approve,
  balances,
  bookAccrual,
  compensate,
  findAffiliate,
  findEntryByKey,
  flagForReview,
  getCommission,
  listCommissions,
  listEntries,
  reject,
  reverse,
  upsertAffiliate,
  type CommissionEntry,
  type LedgerResult,
  type NewAccrual,
} from '../../src/db/ledger.js';
import { randomBase62 } from '../../src/db/new-id.js';
import {
  createPool,
  withTransaction,
  type Pool,
  type PoolClient,
  type Queryable,
} from '../../src/db/pool.js';
import type { Deal } from '../../src/domain/commission/deals.js';
import {
  evaluate,
  initialState,
  withStatus,
  type LedgerIntent,
} from '../../src/domain/commission/evaluate.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';
import type { RevshareAccount } from '../../src/domain/commission/revshare.js';
import { add, format, neg } from '../../src/domain/money.js';
import {
  assertLedgerInvariants,
  at,
  historyDeal,
  specArb,
  toEvent,
  type Spec,
} from '../support/ledger-fixtures.js';

let pool: Pool;
const operatorId = `op_ledger${randomBase62(10)}`;

const cpaDeal: Deal = {
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '20.00', windowDays: 30 },
  holdPeriod: '10d',
  clawbackWindow: '40d',
};

before(async () => {
  if (!process.env.DATABASE_URL)
    throw new Error('run through `npm test` (scripts/bootstrap.mjs test/run.ts)');
  pool = createPool(process.env.DATABASE_URL, 12);
  await pool.query('INSERT INTO operators (id, name) VALUES ($1, $2)', [operatorId, 'Ledger tests']);
});
after(async () => {
  await pool?.end();
});

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomBase62(6)}`;

async function newAffiliate(
  status: 'active' | 'suspended' = 'active',
  deal: Deal = cpaDeal,
): Promise<string> {
  const affiliateId = unique('aff');
  await upsertAffiliate(pool, operatorId, affiliateId, { name: 'Affiliate', status, deal });
  return affiliateId;
}

/** An events row, which every entry's cause must name. */
async function recordEvent(
  customerId: string,
  type = 'deposit.completed',
  occurredAt = at(0),
  id = unique('evt'),
) {
  await pool.query(
    // A stand-in for a processed event (the ledger's foreign key target): marked started, so the start
    // reconciler of other test files never picks it up.
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         workflow_started_at, acknowledged_at, status)
     VALUES ($1, $2, $3, $4, $5, '{}', 'test', $6, now(), now(), 'processed')`,
    [operatorId, id, type, occurredAt, customerId, `event:${operatorId}:${id}`],
  );
  return id;
}

async function accrual(affiliateId: string, fields: Partial<NewAccrual> = {}): Promise<NewAccrual> {
  const customerId = fields.customerId ?? unique('cust');
  const causeEventId = fields.causeEventId ?? (await recordEvent(customerId));
  return {
    operatorId,
    affiliateId,
    customerId,
    causeEventId,
    rule: 'cpa',
    model: 'cpa',
    amount: '100.00',
    currency: 'EUR',
    occurredAt: at(0),
    holdUntil: at(10),
    clawbackUntil: at(40),
    idempotencyKey: `cpa/${customerId}`,
    ...fields,
  };
}

async function booked(a: NewAccrual): Promise<CommissionEntry> {
  const r = await bookAccrual(pool, a);
  assert.equal(r.outcome, 'booked', JSON.stringify(r));
  return r.entry;
}

function outcome(r: LedgerResult): string {
  return r.outcome === 'refused' ? `refused:${r.refusal}` : r.outcome;
}

const tx = <T>(fn: (db: PoolClient) => Promise<T>) => withTransaction(pool, fn);

/** Balances summed in JS from the entries, by the bucket table of migration 004. */
describe('affiliates', () => {
  it('PUT semantics: the first upsert creates, the next replaces name, status and deal', async () => {
    const affiliateId = unique('aff');
    const first = await upsertAffiliate(pool, operatorId, affiliateId, {
      name: 'A',
      status: 'active',
      deal: cpaDeal,
    });
    assert.equal(first.created, true);
    const lot: Deal = {
      model: 'lot',
      amountPerLot: '7.00',
      currency: 'USD',
      holdPeriod: '1d',
      clawbackWindow: '7d',
    };
    const second = await upsertAffiliate(pool, operatorId, affiliateId, {
      name: 'B',
      status: 'suspended',
      deal: lot,
    });
    assert.equal(second.created, false);
    const found = await findAffiliate(pool, operatorId, affiliateId);
    assert.deepEqual([found?.name, found?.status, found?.deal], ['B', 'suspended', lot]);
  });

  it('another operator’s affiliate is not found', async () => {
    const affiliateId = await newAffiliate();
    assert.equal(await findAffiliate(pool, 'op_someoneelse', affiliateId), null);
  });
});

describe('accruals', () => {
  it('books a pending commission with its hold, linked to the event that caused it', async () => {
    const affiliateId = await newAffiliate();
    const a = await accrual(affiliateId);
    const entry = await booked(a);
    assert.match(entry.id, /^com_/);
    assert.deepEqual(
      [entry.kind, entry.status, entry.amount, entry.eventId, entry.holdUntil?.toISOString()],
      ['accrual', 'pending', '100.00', a.causeEventId, at(10)],
    );
  });

  it('a replay books nothing and returns the first entry; the same key with other contents is refused', async () => {
    const affiliateId = await newAffiliate();
    const a = await accrual(affiliateId);
    const first = await booked(a);
    const replay = await bookAccrual(pool, a);
    assert.deepEqual([replay.outcome, replay.entry?.id], ['duplicate', first.id]);
    const changed = await bookAccrual(pool, { ...a, amount: '100.01' });
    assert.deepEqual([outcome(changed), changed.entry?.id], ['refused:idempotency_conflict', first.id]);
    const otherKey = await bookAccrual(pool, { ...a, idempotencyKey: `${a.idempotencyKey}/again` });
    assert.deepEqual([outcome(otherKey), otherKey.entry?.id], ['refused:idempotency_conflict', first.id]);
    assert.equal((await listEntries(pool, operatorId, affiliateId)).length, 1);
  });

  it('a suspended affiliate accrues nothing; an unknown one neither', async () => {
    const suspended = await newAffiliate('suspended');
    assert.equal(outcome(await bookAccrual(pool, await accrual(suspended))), 'refused:affiliate_suspended');
    const active = await newAffiliate();
    const unknown = await accrual(active, { affiliateId: 'aff-nobody' });
    assert.equal(outcome(await bookAccrual(pool, unknown)), 'refused:affiliate_not_found');
  });

  it('two concurrent bookings of one accrual: one is booked, the other is its duplicate', async () => {
    const affiliateId = await newAffiliate();
    const a = await accrual(affiliateId);
    const results = await Promise.all([tx((db) => bookAccrual(db, a)), tx((db) => bookAccrual(db, a))]);
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['booked', 'duplicate']);
    assert.equal(results[0]!.entry?.id, results[1]!.entry?.id);
  });
});

describe('transitions: pending -> approved | rejected, approved -> reversed', () => {
  it('approval waits for the hold unless it is done by hand, and happens once', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    assert.equal(outcome(await approve(pool, operatorId, id, { at: at(9) })), 'refused:hold_not_elapsed');
    const ok = await approve(pool, operatorId, id, { at: at(10) });
    assert.deepEqual(
      [outcome(ok), ok.entry?.kind, ok.entry?.relatedEntry, ok.entry?.reason],
      ['booked', 'approval', id, 'hold_elapsed'],
    );
    assert.equal(outcome(await approve(pool, operatorId, id, { at: at(11), manual: true })), 'duplicate');
    const early = await booked(await accrual(affiliateId));
    assert.equal(outcome(await approve(pool, operatorId, early.id, { at: at(1), manual: true })), 'booked');
  });

  it('a rejected commission is never approved, nor reversed; the same rejection again is a duplicate', async () => {
    const affiliateId = await newAffiliate();
    const cause = await recordEvent('c-rej', 'deposit.chargeback');
    const { id } = await booked(await accrual(affiliateId));
    const comp = { reason: 'chargeback', at: at(3), causeEventId: cause };
    assert.equal(outcome(await reject(pool, operatorId, id, comp)), 'booked');
    assert.equal(outcome(await reject(pool, operatorId, id, comp)), 'duplicate');
    assert.equal(
      outcome(await reject(pool, operatorId, id, { ...comp, reason: 'fraud_high' })),
      'refused:already_rejected',
    );
    assert.equal(outcome(await approve(pool, operatorId, id, { at: at(20) })), 'refused:already_rejected');
    assert.equal(outcome(await reverse(pool, operatorId, id, comp)), 'refused:already_rejected');
    assert.equal((await getCommission(pool, operatorId, id))?.status, 'rejected');
  });

  it('a reversal is a new negative entry naming the original, which is never edited; only one per commission', async () => {
    const affiliateId = await newAffiliate();
    const a = await booked(await accrual(affiliateId));
    const cb = await recordEvent('c-rev', 'deposit.chargeback');
    assert.equal(
      outcome(await reverse(pool, operatorId, a.id, { reason: 'chargeback', at: at(5), causeEventId: cb })),
      'refused:not_approved',
    );
    await approve(pool, operatorId, a.id, { at: at(10) });
    assert.equal(
      outcome(await reject(pool, operatorId, a.id, { reason: 'chargeback', at: at(12) })),
      'refused:already_approved',
    );
    const r = await reverse(pool, operatorId, a.id, { reason: 'chargeback', at: at(20), causeEventId: cb });
    assert.deepEqual(
      [outcome(r), r.entry?.amount, r.entry?.reversalOf, r.entry?.eventId],
      ['booked', '-100.00', a.id, cb],
    );
    assert.equal(
      outcome(await reverse(pool, operatorId, a.id, { reason: 'chargeback', at: at(20), causeEventId: cb })),
      'duplicate',
    );
    assert.equal(
      outcome(await reverse(pool, operatorId, a.id, { reason: 'fraud_high', at: at(21) })),
      'refused:already_reversed',
    );
    const original = (await listEntries(pool, operatorId, affiliateId)).find((e) => e.id === a.id);
    assert.deepEqual(original, a, 'the accrual row is untouched');
    assert.deepEqual(await balances(pool, operatorId, affiliateId), [
      { currency: 'EUR', pending: '0.00', approved: '100.00', reversed: '-100.00', payable: '0.00' },
    ]);
  });

  it('after the clawback window a reversal is refused unless decided by hand', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    await approve(pool, operatorId, id, { at: at(10) });
    assert.equal(
      outcome(await reverse(pool, operatorId, id, { reason: 'refund', at: at(41) })),
      'refused:outside_clawback_window',
    );
    assert.equal(
      outcome(await reverse(pool, operatorId, id, { reason: 'refund', at: at(41), manual: true })),
      'booked',
    );
  });

  it('compensate rejects while pending, reverses within the window, flags for review after it', async () => {
    const affiliateId = await newAffiliate();
    const cause = await recordEvent('c-comp', 'customer.fraud_flagged');
    const comp = (days: number) => ({ reason: 'fraud_high', at: at(days), causeEventId: cause });
    const pending = await booked(await accrual(affiliateId));
    const inWindow = await booked(await accrual(affiliateId));
    const late = await booked(await accrual(affiliateId));
    for (const c of [inWindow, late]) await approve(pool, operatorId, c.id, { at: at(10) });

    const results = [
      await compensate(pool, operatorId, pending.id, comp(5)),
      await compensate(pool, operatorId, inWindow.id, comp(40)),
      await compensate(pool, operatorId, late.id, comp(41)),
    ];
    assert.deepEqual(
      results.map((r) => [r.action, outcome(r), r.entry?.kind]),
      [
        ['reject', 'booked', 'rejection'],
        ['reverse', 'booked', 'reversal'],
        ['review', 'booked', 'review'],
      ],
    );
    // Replays find their own entries.
    const again = await Promise.all(
      [pending, inWindow, late].map((c, i) => compensate(pool, operatorId, c.id, comp([5, 40, 41][i]!))),
    );
    assert.deepEqual(again.map(outcome), ['duplicate', 'duplicate', 'duplicate']);
    assert.deepEqual((await getCommission(pool, operatorId, late.id))?.reviews, 1);
    assert.equal(
      outcome(await flagForReview(pool, operatorId, pending.id, comp(6))),
      'refused:already_rejected',
    );
  });

  it('an unknown commission, or another operator’s, is not found', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    assert.equal(outcome(await approve(pool, 'op_other', id, { at: at(20) })), 'refused:not_found');
    assert.equal(
      outcome(await reject(pool, operatorId, 'com_missing', { reason: 'x', at: at(1) })),
      'refused:not_found',
    );
  });
});

describe('concurrent compensations serialise on the accrual', () => {
  it('an approval racing a rejection: exactly one wins, the other is refused', async () => {
    for (let i = 0; i < 5; i++) {
      const affiliateId = await newAffiliate();
      const { id } = await booked(await accrual(affiliateId));
      const results = await Promise.all([
        tx((db) => approve(db, operatorId, id, { at: at(20) })),
        tx((db) => reject(db, operatorId, id, { reason: 'fraud_high', at: at(20) })),
      ]);
      const outcomes = results.map(outcome).sort();
      assert.ok(
        JSON.stringify(outcomes) === JSON.stringify(['booked', 'refused:already_approved']) ||
          JSON.stringify(outcomes) === JSON.stringify(['booked', 'refused:already_rejected']),
        outcomes.join(),
      );
      await assertLedgerInvariants(pool, operatorId, affiliateId);
    }
  });

  it('two reversals for different causes: one reversal, one refusal', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    await approve(pool, operatorId, id, { at: at(10) });
    const results = await Promise.all(
      ['chargeback', 'refund', 'fraud_high'].map((reason) =>
        tx((db) => compensate(db, operatorId, id, { reason, at: at(20) })),
      ),
    );
    assert.deepEqual(results.map(outcome).sort(), [
      'booked',
      'refused:already_reversed',
      'refused:already_reversed',
    ]);
  });
});

describe('the ledger is append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of entries', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    await assert.rejects(
      pool.query(`UPDATE commission_entries SET amount = 1 WHERE id = $1`, [id]),
      /append-only/,
    );
    await assert.rejects(pool.query(`DELETE FROM commission_entries WHERE id = $1`, [id]), /append-only/);
    // The rates a commission used reference it, so PostgreSQL refuses truncating the entries alone before
    // any trigger runs; truncating both reaches the ledger's own refusal.
    await assert.rejects(pool.query(`TRUNCATE commission_entries`), /append-only|foreign key/);
    await assert.rejects(pool.query(`TRUNCATE commission_entries, commission_fx`), /append-only/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of the exchange rates a commission used', async () => {
    const affiliateId = await newAffiliate();
    const { id } = await booked(await accrual(affiliateId));
    await pool.query(
      `INSERT INTO commission_fx (entry_id, operator_id, from_currency, to_currency, rate_date, rate)
       VALUES ($1, $2, 'EUR', 'USD', '2026-12-04', 1.085)`,
      [id, operatorId],
    );
    await assert.rejects(
      pool.query(`UPDATE commission_fx SET rate = 2 WHERE entry_id = $1`, [id]),
      /append-only/,
    );
    await assert.rejects(pool.query(`DELETE FROM commission_fx WHERE entry_id = $1`, [id]), /append-only/);
    await assert.rejects(pool.query(`TRUNCATE commission_fx`), /append-only/);
  });

  it('refuses, in the database itself, a reversal of a commission never approved, or of the wrong amount', async () => {
    const affiliateId = await newAffiliate();
    const a = await booked(await accrual(affiliateId));
    const insert = (amount: string, approvedFirst: boolean) =>
      tx(async (db) => {
        if (approvedFirst) await approve(db, operatorId, a.id, { at: at(10) });
        await db.query(
          `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, rule, model, kind, amount,
                                           currency, status, occurred_at, reversal_of, reason, idempotency_key)
           VALUES ($1, $2, $3, $4, 'cpa', 'cpa', 'reversal', $5, 'EUR', 'reversed', now(), $6, 'x', $7)`,
          [`com_x${randomBase62(8)}`, operatorId, affiliateId, a.customerId, amount, a.id, unique('k')],
        );
      });
    await assert.rejects(insert('-100', false), /not approved/);
    await assert.rejects(insert('-99', true), /amount/);
  });
});

describe('listing and balances', () => {
  it('lists each commission with its current status, reversals as entries of their own, newest first, by pages', async () => {
    const affiliateId = await newAffiliate();
    const p = await booked(await accrual(affiliateId, { amount: '10.00' }));
    const ap = await booked(await accrual(affiliateId, { amount: '20.00' }));
    const rj = await booked(await accrual(affiliateId, { amount: '30.00' }));
    const rv = await booked(await accrual(affiliateId, { amount: '40.00', currency: 'USD' }));
    await approve(pool, operatorId, ap.id, { at: at(10) });
    await reject(pool, operatorId, rj.id, { reason: 'kyc_rejected', at: at(2) });
    await approve(pool, operatorId, rv.id, { at: at(10) });
    const reversal = await reverse(pool, operatorId, rv.id, { reason: 'chargeback', at: at(12) });

    const all = await listCommissions(pool, operatorId, affiliateId, { limit: 50 });
    assert.deepEqual(
      all.map((c) => [c.id, c.status, c.amount, c.currency, c.reversalOf, c.reason]),
      [
        [reversal.entry!.id, 'reversed', '-40.00', 'USD', rv.id, 'chargeback'],
        [rv.id, 'reversed', '40.00', 'USD', null, 'chargeback'],
        [rj.id, 'rejected', '30.00', 'EUR', null, 'kyc_rejected'],
        [ap.id, 'approved', '20.00', 'EUR', null, null],
        [p.id, 'pending', '10.00', 'EUR', null, null],
      ],
    );
    const approved = await listCommissions(pool, operatorId, affiliateId, { status: 'approved', limit: 50 });
    assert.deepEqual(
      approved.map((c) => c.id),
      [ap.id],
    );

    const pageOne = await listCommissions(pool, operatorId, affiliateId, { limit: 2 });
    const last = pageOne[pageOne.length - 1]!;
    const pageTwo = await listCommissions(pool, operatorId, affiliateId, {
      limit: 10,
      cursor: { createdAt: last.createdAt.toISOString(), id: last.id },
    });
    assert.deepEqual(
      [...pageOne, ...pageTwo].map((c) => c.id),
      all.map((c) => c.id),
    );

    assert.deepEqual(await balances(pool, operatorId, affiliateId), [
      { currency: 'EUR', pending: '10.00', approved: '20.00', reversed: '0.00', payable: '20.00' },
      { currency: 'USD', pending: '0.00', approved: '40.00', reversed: '-40.00', payable: '0.00' },
    ]);
    await assertLedgerInvariants(pool, operatorId, affiliateId);
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: random sequences of ledger operations, checked against a reference model.

type Op =
  | {
      op: 'accrue';
      cause: number;
      rule: 'cpa' | 'lot';
      variant: number;
      cents: number;
      currency: 'EUR' | 'USD';
    }
  | { op: 'approve'; target: number; day: number; manual: boolean }
  | { op: 'reject'; target: number; reason: number; cause: number | null; day: number }
  | { op: 'reverse'; target: number; reason: number; cause: number | null; day: number; manual: boolean }
  | { op: 'compensate'; target: number; reason: number; cause: number | null; day: number };

const REASONS = ['chargeback', 'fraud_high'];
const CAUSES = 3;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('accrue' as const),
    cause: fc.nat({ max: CAUSES - 1 }),
    rule: fc.constantFrom('cpa' as const, 'lot' as const),
    variant: fc.nat({ max: 1 }),
    cents: fc.constantFrom(1, 999, 10000, 123456),
    currency: fc.constantFrom('EUR' as const, 'USD' as const),
  }),
  fc.record({
    op: fc.constant('approve' as const),
    target: fc.nat(),
    day: fc.nat({ max: 50 }),
    manual: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('reject' as const),
    target: fc.nat(),
    reason: fc.nat({ max: 1 }),
    cause: fc.option(fc.nat({ max: CAUSES - 1 })),
    day: fc.nat({ max: 50 }),
  }),
  fc.record({
    op: fc.constant('reverse' as const),
    target: fc.nat(),
    reason: fc.nat({ max: 1 }),
    cause: fc.option(fc.nat({ max: CAUSES - 1 })),
    day: fc.nat({ max: 50 }),
    manual: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('compensate' as const),
    target: fc.nat(),
    reason: fc.nat({ max: 1 }),
    cause: fc.option(fc.nat({ max: CAUSES - 1 })),
    day: fc.nat({ max: 50 }),
  }),
);

type Step = { kind: 'one'; op: Op } | { kind: 'pair'; a: Op; b: Op } | { kind: 'replay'; index: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: opArb.map((op) => ({ kind: 'one' as const, op })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pair' as const), a: opArb, b: opArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat() }) },
);

/** The reference model: what the ledger should say, written from the rules alone. */
interface ModelCommission {
  key: string;
  eventId: string;
  rule: string;
  cents: number;
  currency: string;
  id: string;
  resolution: { kind: 'approval' | 'rejection'; cause: string | null; reason: string } | null;
  reversal: { cause: string | null; reason: string } | null;
  reviews: string[];
}

interface Model {
  commissions: ModelCommission[];
}

const HOLD_DAY = 10;
const CLAWBACK_DAY = 40;

/** What an operation should come to, and the model after it (`id` fills in once the ledger answers). */
function expect(
  model: Model,
  op: Op,
  events: string[],
  id: string,
): { result: string; apply: (id: string) => void } {
  const none = () => undefined;
  if (op.op === 'accrue') {
    const eventId = events[op.cause]!;
    const key = `${op.rule}/${eventId}/${op.variant}`;
    const same = model.commissions.find((c) => c.key === key);
    if (same) {
      const identical = same.cents === op.cents && same.currency === op.currency && same.eventId === eventId;
      return { result: identical ? 'duplicate' : 'refused:idempotency_conflict', apply: none };
    }
    if (model.commissions.some((c) => c.eventId === eventId && c.rule === op.rule))
      return { result: 'refused:idempotency_conflict', apply: none };
    return {
      result: 'booked',
      apply: (id) =>
        model.commissions.push({
          key,
          eventId,
          rule: op.rule,
          cents: op.cents,
          currency: op.currency,
          id,
          resolution: null,
          reversal: null,
          reviews: [],
        }),
    };
  }
  const c = model.commissions.find((x) => x.id === id)!;
  if (op.op === 'approve') {
    if (c.resolution?.kind === 'approval') return { result: 'duplicate', apply: none };
    if (c.resolution?.kind === 'rejection') return { result: 'refused:already_rejected', apply: none };
    if (!op.manual && op.day < HOLD_DAY) return { result: 'refused:hold_not_elapsed', apply: none };
    return {
      result: 'booked',
      apply: () =>
        (c.resolution = { kind: 'approval', cause: null, reason: op.manual ? 'manual' : 'hold_elapsed' }),
    };
  }
  const cause = op.cause === null ? null : events[op.cause]!;
  const reason = REASONS[op.reason]!;
  const rejectIt = () => {
    if (c.resolution?.kind === 'rejection') {
      const same = c.resolution.cause === cause && c.resolution.reason === reason;
      return { result: same ? 'duplicate' : 'refused:already_rejected', apply: none };
    }
    if (c.reversal) return { result: 'refused:already_reversed', apply: none };
    if (c.resolution) return { result: 'refused:already_approved', apply: none };
    return { result: 'booked', apply: () => (c.resolution = { kind: 'rejection', cause, reason }) };
  };
  const reverseIt = (manual: boolean) => {
    if (c.reversal) {
      const same = c.reversal.cause === cause && c.reversal.reason === reason;
      return { result: same ? 'duplicate' : 'refused:already_reversed', apply: none };
    }
    if (!c.resolution) return { result: 'refused:not_approved', apply: none };
    if (c.resolution.kind === 'rejection') return { result: 'refused:already_rejected', apply: none };
    if (!manual && op.day > CLAWBACK_DAY) return { result: 'refused:outside_clawback_window', apply: none };
    return { result: 'booked', apply: () => (c.reversal = { cause, reason }) };
  };
  if (op.op === 'reject') return rejectIt();
  if (op.op === 'reverse') return reverseIt(op.manual);
  // compensate: its own earlier entry if there is one, else the status decides
  const reviewKey = cause ?? `manual:${reason}`;
  const same = (e: { cause: string | null; reason: string } | null) =>
    e?.cause === cause && e?.reason === reason;
  if (c.resolution?.kind === 'rejection' && same(c.resolution)) return { result: 'duplicate', apply: none };
  if (same(c.reversal) || c.reviews.includes(reviewKey)) return { result: 'duplicate', apply: none };
  if (c.reversal || (c.resolution?.kind === 'approval' && op.day <= CLAWBACK_DAY)) return reverseIt(false);
  if (c.resolution?.kind === 'approval') return { result: 'booked', apply: () => c.reviews.push(reviewKey) };
  return rejectIt();
}

/** The commission an operation acts on, fixed when it first runs so that a replay acts on the same one. */
function targetOf(op: Op, model: Model): string {
  return op.op === 'accrue' ? '' : model.commissions[op.target % model.commissions.length]!.id;
}

async function execute(
  db: Queryable,
  op: Op,
  id: string,
  ctx: { affiliateId: string; customerId: string; events: string[] },
) {
  if (op.op === 'accrue') {
    const eventId = ctx.events[op.cause]!;
    const cents = String(op.cents).padStart(3, '0');
    return bookAccrual(db, {
      operatorId,
      affiliateId: ctx.affiliateId,
      customerId: ctx.customerId,
      causeEventId: eventId,
      rule: op.rule,
      model: op.rule,
      amount: `${cents.slice(0, -2)}.${cents.slice(-2)}`,
      currency: op.currency,
      occurredAt: at(0),
      holdUntil: at(HOLD_DAY),
      clawbackUntil: at(CLAWBACK_DAY),
      idempotencyKey: `${op.rule}/${eventId}/${op.variant}`,
    });
  }
  const cause = 'cause' in op && op.cause !== null ? ctx.events[op.cause]! : null;
  const reason = 'reason' in op ? REASONS[op.reason]! : '';
  switch (op.op) {
    case 'approve':
      return approve(db, operatorId, id, { at: at(op.day), manual: op.manual });
    case 'reject':
      return reject(db, operatorId, id, { reason, at: at(op.day), causeEventId: cause });
    case 'reverse':
      return reverse(db, operatorId, id, { reason, at: at(op.day), causeEventId: cause, manual: op.manual });
    case 'compensate':
      return compensate(db, operatorId, id, { reason, at: at(op.day), causeEventId: cause });
  }
}

function expectedBalances(model: Model) {
  const by = new Map<string, { pending: string; approved: string; reversed: string }>();
  const cents = (n: number) => {
    const d = String(n).padStart(3, '0');
    return `${d.slice(0, -2)}.${d.slice(-2)}`;
  };
  for (const c of model.commissions) {
    const b = by.get(c.currency) ?? { pending: '0', approved: '0', reversed: '0' };
    const amount = cents(c.cents);
    if (!c.resolution) b.pending = add(b.pending, amount);
    if (c.resolution?.kind === 'approval') b.approved = add(b.approved, amount);
    if (c.reversal) b.reversed = add(b.reversed, neg(amount));
    by.set(c.currency, b);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, b]) => ({
      currency,
      pending: format(b.pending, currency),
      approved: format(b.approved, currency),
      reversed: format(b.reversed, currency),
      payable: format(add(b.approved, b.reversed), currency),
    }));
}

describe('property: random ledger operations (fast-check)', () => {
  it('balances equal the entries and the model; one accrual per cause and rule; one reversal per accrual; no approval after a rejection; replays book nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const affiliateId = await newAffiliate();
        const customerId = unique('cust');
        const events: string[] = [];
        for (let i = 0; i < CAUSES; i++) events.push(await recordEvent(customerId));
        const ctx = { affiliateId, customerId, events };
        const model: Model = { commissions: [] };
        const bookedOps: { op: Op; id: string }[] = [];
        const runnable = (op: Op) => op.op === 'accrue' || model.commissions.length > 0;

        for (const step of steps) {
          if (step.kind === 'one') {
            if (!runnable(step.op)) continue;
            const id = targetOf(step.op, model);
            const want = expect(model, step.op, events, id);
            const got = await tx((db) => execute(db, step.op, id, ctx));
            assert.equal(outcome(got), want.result, JSON.stringify(step.op));
            if (got.outcome === 'booked') {
              want.apply(got.entry.id);
              bookedOps.push({ op: step.op, id });
            }
          } else if (step.kind === 'pair') {
            if (!runnable(step.a) || !runnable(step.b)) continue;
            const ids = [targetOf(step.a, model), targetOf(step.b, model)] as const;
            const got = await Promise.all([
              tx((db) => execute(db, step.a, ids[0], ctx)),
              tx((db) => execute(db, step.b, ids[1], ctx)),
            ]);
            // The two ran at once: their outcomes must be those of one serial order or the other.
            const orders: [Op, string, LedgerResult][][] = [
              [
                [step.a, ids[0], got[0]],
                [step.b, ids[1], got[1]],
              ],
              [
                [step.b, ids[1], got[1]],
                [step.a, ids[0], got[0]],
              ],
            ];
            let matched = false;
            for (const order of orders) {
              const trial: Model = structuredClone(model);
              const ok = order.every(([op, id, result]) => {
                const want = expect(trial, op, events, id);
                if (outcome(result) !== want.result) return false;
                if (result.outcome === 'booked') want.apply(result.entry.id);
                return true;
              });
              if (ok) {
                model.commissions = trial.commissions;
                matched = true;
                break;
              }
            }
            assert.ok(matched, `no serial order explains ${JSON.stringify([step, got.map(outcome)])}`);
            for (const [i, op] of [step.a, step.b].entries())
              if (got[i]!.outcome === 'booked') bookedOps.push({ op, id: ids[i]! });
          } else if (bookedOps.length) {
            const { op, id } = bookedOps[step.index % bookedOps.length]!;
            const count = (await listEntries(pool, operatorId, affiliateId)).length;
            const again = await tx((db) => execute(db, op, id, ctx));
            assert.equal(again.outcome, 'duplicate', JSON.stringify(op));
            assert.equal((await listEntries(pool, operatorId, affiliateId)).length, count);
          }
        }

        const entries = await assertLedgerInvariants(pool, operatorId, affiliateId);
        assert.deepEqual(await balances(pool, operatorId, affiliateId), expectedBalances(model));
        // Replaying every booked operation books nothing new.
        for (const { op, id } of bookedOps)
          assert.equal((await execute(pool, op, id, ctx)).outcome, 'duplicate');
        assert.equal((await listEntries(pool, operatorId, affiliateId)).length, entries.length);
        // Statuses as listed agree with the model.
        const listed = new Map(
          (await listCommissions(pool, operatorId, affiliateId, { limit: 500 })).map((c) => [c.id, c.status]),
        );
        for (const c of model.commissions) {
          const status = c.reversal
            ? 'reversed'
            : c.resolution?.kind === 'approval'
              ? 'approved'
              : c.resolution
                ? 'rejected'
                : 'pending';
          assert.equal(listed.get(c.id), status);
        }
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: random customer histories, evaluated and booked as the workflow's activity would.

/** What the activity does with an evaluation: every intent booked in one transaction. */
async function bookIntents(affiliateId: string, intents: LedgerIntent[]): Promise<LedgerResult[]> {
  return tx(async (db) => {
    const results: LedgerResult[] = [];
    for (const intent of intents) {
      if (intent.type === 'accrue') {
        results.push(await bookAccrual(db, { ...intent, operatorId, affiliateId }));
      } else {
        const target = await findEntryByKey(db, operatorId, intent.target.idempotencyKey);
        assert.ok(target, `compensation of an accrual never booked: ${intent.target.idempotencyKey}`);
        const comp = { reason: intent.reason, at: intent.occurredAt, causeEventId: intent.causeEventId };
        // A review moves no money whatever the status; reject and reverse are re-decided under the lock.
        results.push(
          intent.kind === 'review'
            ? await flagForReview(db, operatorId, target.id, comp)
            : await compensate(db, operatorId, target.id, comp),
        );
      }
    }
    return results;
  });
}

describe('property: random customer histories through the evaluator into the ledger (fast-check)', () => {
  it('the same invariants hold, a replayed activity books nothing, and re-running the whole history books nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 5, maxLength: 25 }), async (rest) => {
        // Every history has a registration on its first day; more may follow, out of order.
        const specs = [{ day: 1, spec: { t: 'reg' } as Spec, approveLedgerOnly: false }, ...rest];
        const affiliateId = await newAffiliate('active', historyDeal);
        const customerId = unique('cust');
        let state = initialState(customerId);
        let account: RevshareAccount | null = null;
        const history: CommissionEvent[] = [];
        for (const [i, { day, spec, approveLedgerOnly }] of specs.entries()) {
          const event = toEvent(`${customerId}-e${i}`, day, spec);
          await recordEvent(customerId, event.type, event.occurredAt, event.id);
          history.push(event);

          // Hold timers that are due fire first; sometimes the evaluator is not told (a race it must survive).
          for (const c of state.commissions.filter(
            (x) => x.status === 'pending' && Date.parse(x.holdUntil) <= Date.parse(event.occurredAt),
          )) {
            const entry = await findEntryByKey(pool, operatorId, c.idempotencyKey);
            if (!entry) continue;
            const r = await approve(pool, operatorId, entry.id, { at: event.occurredAt });
            if (r.outcome === 'booked' && !approveLedgerOnly)
              state = withStatus(state, c.idempotencyKey, 'approved');
          }

          const out = evaluate({ deal: historyDeal, state, event, revshareAccount: account });
          const results = await bookIntents(affiliateId, out.intents);
          for (const r of results) assert.notEqual(r.outcome, 'refused', JSON.stringify(r));
          // The activity is retried after it committed: nothing more is booked.
          const count = (await listEntries(pool, operatorId, affiliateId)).length;
          const replay = await bookIntents(affiliateId, out.intents);
          for (const r of replay) assert.equal(r.outcome, 'duplicate');
          assert.equal((await listEntries(pool, operatorId, affiliateId)).length, count);
          state = out.state;
          account = out.revshareAccount;
        }
        const entries = await assertLedgerInvariants(pool, operatorId, affiliateId);

        // The whole history evaluated again from scratch (a lost workflow state, say) books nothing new.
        let again = initialState(customerId);
        let againAccount: RevshareAccount | null = null;
        for (const event of history) {
          const out = evaluate({ deal: historyDeal, state: again, event, revshareAccount: againAccount });
          for (const r of await bookIntents(affiliateId, out.intents))
            assert.notEqual(r.outcome, 'booked', JSON.stringify(r));
          again = out.state;
          againAccount = out.revshareAccount;
        }
        assert.equal((await listEntries(pool, operatorId, affiliateId)).length, entries.length);
      }),
      { numRuns: 40 },
    );
  });
});
