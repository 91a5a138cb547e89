import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  evaluateFilter,
  filterProblems,
  FILTER_LIMITS,
  type FilterSubject,
  type RoutingFilter,
} from '../../src/domain/routing-filter.js';

const ftdEs: FilterSubject = {
  brand: 'casino-x',
  country: 'ES',
  affiliateId: 'aff-7',
  subIds: { sub1: 'fb', sub2: 'summer-promo' },
  data: { depositId: 'dep-1', amount: '10.50', currency: 'EUR', phase: 2, meta: { tier: { level: 'gold' } } },
};

const matches = (filter: RoutingFilter, subject = ftdEs) => evaluateFilter(filter, subject).match;

describe('an endpoint filter judges what the event says', () => {
  it('brand X and Spain: only brand X’s Spanish events match', () => {
    const filter: RoutingFilter = {
      and: [
        { field: 'brand', eq: 'casino-x' },
        { field: 'country', in: ['ES'] },
      ],
    };
    assert.ok(matches(filter));
    assert.ok(!matches(filter, { ...ftdEs, country: 'DE' }));
    assert.ok(!matches(filter, { ...ftdEs, brand: 'casino-y' }));
  });

  it('compares amounts as decimals, never as text or floats: "10.50" > "9.9"', () => {
    assert.ok(matches({ field: 'data.amount', gt: '9.9' }), 'as text "10.50" < "9.9"');
    assert.ok(matches({ field: 'data.amount', gte: '10.5' }), 'the same amount at another scale');
    assert.ok(matches({ field: 'data.amount', lte: '10.500' }));
    assert.ok(!matches({ field: 'data.amount', lt: '10.50' }));
    assert.ok(matches({ field: 'data.amount', lt: 11 }), 'a whole number operand');
    const tiny = { ...ftdEs, data: { amount: '0.30000000' } };
    assert.ok(matches({ field: 'data.amount', gte: '0.3' }, tiny), 'no 0.1 + 0.2 drift');
    const huge = { ...ftdEs, data: { amount: '9007199254740993.01' } };
    assert.ok(matches({ field: 'data.amount', gt: '9007199254740993' }, huge), 'beyond float precision');
  });

  it('compares a JSON number of the event by its decimal form', () => {
    assert.ok(matches({ field: 'data.phase', gte: 2 }));
    assert.ok(!matches({ field: 'data.phase', gt: '2.0' }));
  });

  it('a condition on a field the event lacks is false, and says so; not of it is true', () => {
    const noBrand = { ...ftdEs, brand: null };
    const r = evaluateFilter({ field: 'brand', eq: 'casino-x' }, noBrand);
    assert.equal(r.match, false);
    assert.equal(r.reasons[0]!.why, 'the event has no brand');
    assert.ok(matches({ not: { field: 'brand', eq: 'casino-x' } }, noBrand));
    assert.ok(!matches({ field: 'data.bonus', gte: '0' }));
    assert.ok(!matches({ field: 'attribution.subIds.sub9', prefix: 'x' }));
  });

  it('a value of the wrong kind is false: a prefix of a number, a comparison of text', () => {
    assert.ok(!matches({ field: 'data.phase', prefix: '2' }));
    const r = evaluateFilter({ field: 'data.currency', gt: '1' }, ftdEs);
    assert.equal(r.match, false);
    assert.match(r.reasons[0]!.why, /not a decimal number/);
  });

  it('reads nested sub-ids and nested data', () => {
    assert.ok(matches({ field: 'attribution.subIds.sub2', prefix: 'summer-' }));
    assert.ok(!matches({ field: 'attribution.subIds.sub1', eq: 'google' }));
    assert.ok(matches({ field: 'data.meta.tier.level', eq: 'gold' }));
    assert.ok(!matches({ field: 'data.meta.tier.level.x', eq: 'gold' }), 'below a string is nothing');
    assert.ok(!matches({ field: 'data.__proto__', eq: 'x' } as RoutingFilter));
  });

  it('eq is JSON equality: "50" is not "50.00", 2 is not "2"', () => {
    assert.ok(!matches({ field: 'data.amount', eq: '10.5' }));
    assert.ok(matches({ field: 'data.phase', eq: 2 }));
    assert.ok(!matches({ field: 'data.phase', eq: '2' }));
    assert.ok(matches({ field: 'affiliateId', in: ['aff-1', 'aff-7'] }));
  });

  it('explains every clause, groups first, with the path of each', () => {
    const r = evaluateFilter(
      {
        or: [
          {
            and: [
              { field: 'brand', eq: 'casino-y' },
              { field: 'country', eq: 'ES' },
            ],
          },
          { not: { field: 'data.amount', lt: '5' } },
        ],
      },
      ftdEs,
    );
    assert.equal(r.match, true);
    assert.deepEqual(
      r.reasons.map((c) => [c.path, c.clause, c.result, c.why]),
      [
        ['filter', 'or of 2', true, '1 of 2 held'],
        ['filter.or.0', 'and of 2', false, '1 of 2 held'],
        ['filter.or.0.and.0', 'brand eq "casino-y"', false, 'brand is "casino-x"'],
        ['filter.or.0.and.1', 'country eq "ES"', true, 'country is "ES"'],
        ['filter.or.1', 'not', true, 'the inner clause is false'],
        ['filter.or.1.not', 'data.amount lt "5"', false, 'data.amount is "10.50"'],
      ],
    );
  });

  it('decimal comparison agrees with exact integer arithmetic on cents', () => {
    const cents = fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n });
    const text = (c: bigint) => {
      const sign = c < 0n ? '-' : '';
      const a = c < 0n ? -c : c;
      return `${sign}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
    };
    fc.assert(
      fc.property(cents, cents, (a, b) => {
        const subject = { ...ftdEs, data: { amount: text(a) } };
        assert.equal(matches({ field: 'data.amount', gt: text(b) }, subject), a > b);
        assert.equal(matches({ field: 'data.amount', lte: text(b).replace(/0$/, '') }, subject), a <= b);
      }),
    );
  });
});

describe('a filter is validated when saved, one problem per place', () => {
  const paths = (raw: unknown) => filterProblems(raw).map((p) => p.path.join('.'));

  it('accepts the documented forms', () => {
    for (const ok of [
      { field: 'brand', eq: 'casino-x' },
      { field: 'country', in: ['ES', 'PT'] },
      { field: 'attribution.subIds.sub10', prefix: 'fb-' },
      { field: 'data.amount', gte: '20.00' },
      { field: 'data.meta.tier', lt: 3 },
      {
        not: {
          or: [
            { field: 'affiliateId', eq: 'aff-1' },
            { field: 'data.vip', eq: true },
          ],
        },
      },
    ]) {
      assert.deepEqual(filterProblems(ok), [], JSON.stringify(ok));
    }
  });

  it('names each problem at its path', () => {
    assert.deepEqual(
      paths({
        and: [
          { field: 'brandd', eq: 'x' },
          { field: 'data.amount', gt: 9.9 },
          { field: 'country', equals: 'ES' },
          { field: 'country', in: [] },
          { field: 'attribution.subIds.sub11', prefix: '' },
          'brand',
        ],
      }),
      [
        'filter.and.0.field',
        'filter.and.1.gt',
        'filter.and.2.equals',
        'filter.and.3.in',
        'filter.and.4.field',
        'filter.and.4.prefix',
        'filter.and.5',
      ],
    );
    assert.match(filterProblems({ field: 'data.amount', gt: 9.9 })[0]!.message, /never a float/);
    assert.match(filterProblems({ field: 'country', equals: 'ES' })[0]!.message, /unknown operator "equals"/);
  });

  it('refuses two operators in one condition, and a group with other keys', () => {
    assert.deepEqual(paths({ field: 'brand', eq: 'a', prefix: 'b' }), ['filter']);
    assert.deepEqual(paths({ and: [{ field: 'brand', eq: 'a' }], field: 'brand' }), ['filter']);
    assert.deepEqual(paths({ or: {} }), ['filter.or']);
    assert.deepEqual(paths(null), ['filter']);
  });

  it('bounds depth, size and values', () => {
    let deep: unknown = { field: 'brand', eq: 'x' };
    for (let i = 0; i <= FILTER_LIMITS.maxDepth; i++) deep = { not: deep };
    assert.deepEqual(paths(deep), [`filter${'.not'.repeat(FILTER_LIMITS.maxDepth)}`]);
    const many = Array.from({ length: 20 }, () => ({ field: 'brand', eq: 'x' }));
    assert.match(filterProblems({ or: [{ and: many }, { and: many }] })[0]!.message, /at most 32 conditions/);
    assert.deepEqual(paths({ or: Array.from({ length: 33 }, () => ({ field: 'brand', eq: 'x' })) }), [
      'filter.or',
    ]);
    assert.deepEqual(paths({ field: 'brand', eq: 'x'.repeat(257) }), ['filter.eq']);
    assert.deepEqual(paths({ field: 'brand', in: Array.from({ length: 101 }, (_, i) => `b${i}`) }), [
      'filter.in',
    ]);
    assert.deepEqual(paths({ field: 'data.a.b.c.d.e.f.g', eq: 'x' }), ['filter.field']);
  });
});
