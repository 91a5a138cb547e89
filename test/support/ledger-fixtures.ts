import assert from 'node:assert/strict';
import fc from 'fast-check';
import { balances, listEntries, type CommissionEntry } from '../../src/db/ledger.js';
import type { Queryable } from '../../src/db/pool.js';
import type { Deal } from '../../src/domain/commission/deals.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';
import { add, format, sub } from '../../src/domain/money.js';

/** Shared by the ledger's tests: event times by day, the ledger's invariants, random customer histories. */

export const DAY = 86_400_000;
export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const at = (days: number) => new Date(T0 + days * DAY).toISOString();

export function balancesFromEntries(entries: CommissionEntry[]) {
  type Sums = { currency: string; pending: string; approved: string; reversed: string; payable: string };
  const by = new Map<string, Sums>();
  for (const e of entries) {
    const b = by.get(e.currency) ?? {
      currency: e.currency,
      pending: '0',
      approved: '0',
      reversed: '0',
      payable: '0',
    };
    // What is owed moves with approvals and reversals alone, whatever else happens to the commission.
    if (e.kind === 'approval' || e.kind === 'reversal') b.payable = add(b.payable, e.amount);
    if (e.kind === 'accrual') b.pending = add(b.pending, e.amount);
    if (e.kind === 'approval') {
      b.pending = sub(b.pending, e.amount);
      b.approved = add(b.approved, e.amount);
    }
    if (e.kind === 'rejection') b.pending = sub(b.pending, e.amount);
    if (e.kind === 'reversal') b.reversed = add(b.reversed, e.amount);
    by.set(e.currency, b);
  }
  return [...by.values()]
    .sort((a, b) => (a.currency < b.currency ? -1 : 1))
    .map((b) => ({
      currency: b.currency,
      pending: format(b.pending, b.currency),
      approved: format(b.approved, b.currency),
      reversed: format(b.reversed, b.currency),
      payable: format(b.payable, b.currency),
    }));
}

/** The ledger's structural invariants for one affiliate, asked of the database itself. */
export async function assertLedgerInvariants(pool: Queryable, operatorId: string, affiliateId: string) {
  const { rows } = await pool.query(
    `SELECT
       (SELECT count(*)::int FROM (SELECT 1 FROM commission_entries WHERE operator_id = $1 AND affiliate_id = $2
          AND kind = 'accrual' GROUP BY event_id, rule HAVING count(*) > 1) x) AS double_accruals,
       (SELECT count(*)::int FROM (SELECT 1 FROM commission_entries WHERE operator_id = $1 AND affiliate_id = $2
          AND kind = 'reversal' GROUP BY reversal_of HAVING count(*) > 1) x) AS double_reversals,
       (SELECT count(*)::int FROM commission_entries a
          WHERE a.operator_id = $1 AND a.affiliate_id = $2 AND a.kind = 'accrual'
            AND EXISTS (SELECT 1 FROM commission_entries r WHERE r.related_entry = a.id AND r.kind = 'rejection')
            AND EXISTS (SELECT 1 FROM commission_entries p WHERE p.related_entry = a.id AND p.kind = 'approval'))
         AS approved_and_rejected,
       (SELECT count(*)::int FROM commission_entries v
          WHERE v.operator_id = $1 AND v.affiliate_id = $2 AND v.kind = 'reversal'
            AND NOT EXISTS (SELECT 1 FROM commission_entries p
                             WHERE p.related_entry = v.reversal_of AND p.kind = 'approval' AND p.seq < v.seq))
         AS reversed_unapproved`,
    [operatorId, affiliateId],
  );
  assert.deepEqual(rows[0], {
    double_accruals: 0,
    double_reversals: 0,
    approved_and_rejected: 0,
    reversed_unapproved: 0,
  });
  const entries = await listEntries(pool, operatorId, affiliateId);
  assert.deepEqual(await balances(pool, operatorId, affiliateId), balancesFromEntries(entries));
  return entries;
}

export const historyDeal: Deal = {
  model: 'hybrid',
  cpa: {
    amount: '30.00',
    currency: 'EUR',
    qualification: { minCumulativeDeposits: '20.00', windowDays: 30 },
  },
  revshare: { percent: '25', tiers: [{ fromNgr: '100', percent: '35' }], negativeCarryover: true },
  holdPeriod: '5d',
  clawbackWindow: '20d',
};

export type Spec =
  | { t: 'reg' }
  | { t: 'dep'; dep: number; cents: number }
  | { t: 'cb'; dep: number; cents: number }
  | { t: 'rev'; cents: number }
  | { t: 'fraud'; high: boolean }
  | { t: 'status'; excluded: boolean }
  | { t: 'kyc'; rejected: boolean };

export const specArb: fc.Arbitrary<{ day: number; spec: Spec; approveLedgerOnly: boolean }> = fc.record({
  day: fc.integer({ min: 1, max: 60 }),
  approveLedgerOnly: fc.boolean(),
  spec: fc.oneof(
    { weight: 1, arbitrary: fc.constant({ t: 'reg' as const }) },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('dep' as const),
        dep: fc.nat({ max: 7 }),
        cents: fc.integer({ min: 100, max: 3000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('cb' as const),
        dep: fc.nat({ max: 7 }),
        cents: fc.integer({ min: 100, max: 3000 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('rev' as const),
        cents: fc.integer({ min: -10000, max: 30000 }),
      }),
    },
    // Blocking events are rarer: a history that is blocked early accrues nothing to compensate.
    { weight: 1, arbitrary: fc.record({ t: fc.constant('fraud' as const), high: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('status' as const), excluded: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('kyc' as const), rejected: fc.boolean() }) },
  ),
});

export function toEvent(id: string, day: number, s: Spec): CommissionEvent {
  const occurredAt = at(day);
  const money = (cents: number) => {
    const d = String(Math.abs(cents)).padStart(3, '0');
    return `${cents < 0 ? '-' : ''}${d.slice(0, -2)}.${d.slice(-2)}`;
  };
  switch (s.t) {
    case 'reg':
      return { id, type: 'customer.registered', occurredAt, data: { country: 'DE' } };
    case 'dep':
      return {
        id,
        type: 'deposit.completed',
        occurredAt,
        data: { depositId: `d${s.dep}`, amount: money(s.cents), currency: 'EUR' },
      };
    case 'cb':
      return {
        id,
        type: 'deposit.chargeback',
        occurredAt,
        data: { depositId: `d${s.dep}`, amount: money(s.cents), currency: 'EUR' },
      };
    case 'rev':
      return {
        id,
        type: 'revenue.daily',
        occurredAt,
        data: { date: occurredAt.slice(0, 10), ngr: money(s.cents), currency: 'EUR' },
      };
    case 'fraud':
      return {
        id,
        type: 'customer.fraud_flagged',
        occurredAt,
        data: { flag: 'f', severity: s.high ? 'high' : 'low' },
      };
    case 'status':
      return {
        id,
        type: 'customer.status_changed',
        occurredAt,
        data: { status: s.excluded ? 'self_excluded' : 'active', reason: 'r' },
      };
    case 'kyc':
      return {
        id,
        type: 'customer.kyc_changed',
        occurredAt,
        data: { kycStatus: s.rejected ? 'rejected' : 'verified' },
      };
  }
}
