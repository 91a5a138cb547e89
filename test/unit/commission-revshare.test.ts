import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RevshareTerms } from '../../src/domain/commission/deals.js';
import {
  applyRevenue,
  tieredCommission,
  type RevshareAccount,
} from '../../src/domain/commission/revshare.js';
import { add, compare, max, sum } from '../../src/domain/money.js';

const flat = (percent: string, negativeCarryover = false): RevshareTerms => ({ percent, negativeCarryover });
const tiered: RevshareTerms = {
  percent: '25',
  tiers: [
    { fromNgr: '10000', percent: '30' },
    { fromNgr: '50000', percent: '35' },
  ],
  negativeCarryover: false,
};

/** Applies days of [date, ngr] in order; returns each day's commission and the final account. */
function days(terms: RevshareTerms, list: [string, string][], start: RevshareAccount | null = null) {
  let account = start;
  const paid: string[] = [];
  for (const [date, ngr] of list) {
    const out = applyRevenue(terms, account, { date, ngr, currency: 'EUR' });
    paid.push(out.commission);
    account = out.account;
  }
  return { paid, account: account! };
}

describe('RevShare: percent of NGR, tiers by monthly NGR', () => {
  it('pays the percent of each day’s NGR, in the revenue’s minor unit', () => {
    assert.deepEqual(
      days(flat('25'), [
        ['2026-03-01', '1000.00'],
        ['2026-03-02', '0.02'],
      ]).paid,
      ['250.00', '0.01'],
    );
  });

  it('pays each slice of the month’s NGR at its tier: 8,000 then 4,000 pays 2,000 then 500 + 600', () => {
    assert.deepEqual(
      days(tiered, [
        ['2026-03-01', '8000'],
        ['2026-03-02', '4000'],
      ]).paid,
      ['2000.00', '1100.00'],
    );
    assert.equal(tieredCommission(tiered, '60000', 'EUR'), '18000.00'); // 2,500 + 12,000 + 3,500
  });

  it('starts every month in the lowest tier again', () => {
    const { paid } = days(tiered, [
      ['2026-03-31', '12000'],
      ['2026-04-01', '1000'],
    ]);
    assert.deepEqual(paid, ['3100.00', '250.00']);
  });

  it('a negative day pays nothing, and the month pays again only once NGR is back above its best', () => {
    const { paid } = days(flat('25'), [
      ['2026-03-01', '1000'],
      ['2026-03-02', '-3000'],
      ['2026-03-03', '3000'],
      ['2026-03-04', '100'],
    ]);
    assert.deepEqual(paid, ['250.00', '0.00', '0.00', '25.00']);
  });

  it('with negative carryover, -10,000 then +15,000 at 30% pays 1,500; without it, 4,500', () => {
    const months: [string, string][] = [
      ['2026-01-15', '-10000'],
      ['2026-02-15', '15000'],
    ];
    assert.deepEqual(days(flat('30', true), months).paid, ['0.00', '1500.00']);
    assert.deepEqual(days(flat('30', false), months).paid, ['0.00', '4500.00']);
  });

  it('with carryover, NGR lost after it was paid for is earned back before anything more is paid', () => {
    // March pays 300 for +1,000, then loses 3,000: April must first make up 3,000.
    const { paid } = days(flat('30', true), [
      ['2026-03-01', '1000'],
      ['2026-03-02', '-3000'],
      ['2026-04-01', '3000'],
      ['2026-04-02', '100'],
    ]);
    assert.deepEqual(paid, ['300.00', '0.00', '0.00', '30.00']);
  });

  it('carries a shortfall across empty months until it is earned back', () => {
    const { paid } = days(flat('10', true), [
      ['2026-01-10', '-500'],
      ['2026-05-10', '400'],
      ['2026-06-10', '200'],
    ]);
    assert.deepEqual(paid, ['0.00', '0.00', '10.00']);
  });

  it('revenue dated in a month already closed counts towards the current month', () => {
    const { paid, account } = days(tiered, [
      ['2026-04-02', '9000'],
      ['2026-03-30', '2000'],
    ]);
    assert.equal(account.month, '2026-04');
    assert.deepEqual(paid, ['2250.00', '550.00']); // 1,000 at 25% + 1,000 at 30%
  });

  it('refuses revenue in another currency than the account', () => {
    const { account } = days(flat('25'), [['2026-03-01', '10']]);
    assert.throws(
      () => applyRevenue(flat('25'), account, { date: '2026-03-02', ngr: '1', currency: 'USD' }),
      RangeError,
    );
  });
});

describe('RevShare properties (fast-check)', () => {
  /** An NGR with up to 8 decimals, as revenue.daily may send. */
  const ngr = fc
    .tuple(fc.integer({ min: -5_000_000, max: 5_000_000 }), fc.integer({ min: 0, max: 99_999_999 }))
    .map(([whole, frac]) => {
      const sign = whole < 0 ? '-' : '';
      return `${sign}${Math.abs(whole)}.${String(frac).padStart(8, '0')}`;
    });

  it('a month pays the tiered commission on its best month-to-date NGR, however it is split into days', () => {
    fc.assert(
      fc.property(fc.array(ngr, { minLength: 1, maxLength: 20 }), (list) => {
        const { paid } = days(
          tiered,
          list.map((n, i) => [`2026-03-${String(i + 1).padStart(2, '0')}`, n]),
        );
        let level = '0';
        let best = '0';
        for (const n of list) {
          level = add(level, n);
          best = max(best, level);
        }
        assert.equal(compare(sum(paid), tieredCommission(tiered, best, 'EUR')), 0);
        for (const p of paid) assert.ok(compare(p, '0') >= 0, 'never negative');
      }),
    );
  });

  it('positive days pay the same total in any order: no rounding drift', () => {
    const positive = fc
      .tuple(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 99_999_999 }))
      .map(([whole, frac]) => `${whole}.${String(frac).padStart(8, '0')}`);
    fc.assert(
      fc.property(
        fc
          .array(positive, { minLength: 1, maxLength: 15 })
          .chain((list) =>
            fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length })),
          ),
        ([list, shuffled]) => {
          const total = (l: string[]) =>
            sum(
              days(
                tiered,
                l.map((n) => ['2026-03-15', n]),
              ).paid,
            );
          assert.equal(total(list), total(shuffled));
          assert.equal(total(list), tieredCommission(tiered, sum(list), 'EUR'));
        },
      ),
    );
  });
});
