import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CpaDeal, Deal } from '../../src/domain/commission/deals.js';
import {
  evaluate,
  initialState,
  withStatus,
  type AccrueIntent,
  type CommissionState,
  type CompensateIntent,
  type LedgerIntent,
} from '../../src/domain/commission/evaluate.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';
import type { RevshareAccount } from '../../src/domain/commission/revshare.js';

const CUSTOMER = 'player-42';
const timing = { holdPeriod: '30d', clawbackWindow: '90d' };

function cpa(qualification: CpaDeal['qualification'], more: Partial<CpaDeal> = {}): CpaDeal {
  return { model: 'cpa', amount: '100.00', currency: 'EUR', qualification, ...timing, ...more };
}

/** Day n of 2026 at noon UTC (day 1 is January 1st). */
function day(n: number): string {
  return new Date(Date.UTC(2026, 0, n, 12)).toISOString();
}

let seq = 0;
function ev<T extends CommissionEvent['type']>(
  type: T,
  at: string,
  data: Extract<CommissionEvent, { type: T }>['data'],
  id = `evt-${++seq}`,
): CommissionEvent {
  return { id, type, occurredAt: at, data } as CommissionEvent;
}

const registered = (at = day(1), country = 'DE') => ev('customer.registered', at, { country });
const deposit = (at: string, amount: string, depositId = `dep-${++seq}`, currency = 'EUR') =>
  ev('deposit.completed', at, { depositId, amount, currency });

interface Folded {
  state: CommissionState;
  intents: LedgerIntent[];
  /** Intents of the last event only. */
  last: LedgerIntent[];
  account: RevshareAccount | null;
}

/** Folds events through the evaluator in arrival order, as the customer's entity workflow would. */
function fold(deal: Deal | null, events: CommissionEvent[], from?: Partial<Folded>): Folded {
  let state = from?.state ?? initialState(CUSTOMER);
  let account = from?.account ?? null;
  const intents: LedgerIntent[] = [...(from?.intents ?? [])];
  let last: LedgerIntent[] = [];
  for (const event of events) {
    const out = evaluate({ deal, state, event, revshareAccount: account });
    state = out.state;
    account = out.revshareAccount;
    last = out.intents;
    intents.push(...out.intents);
  }
  return { state, intents, last, account };
}

const accruals = (intents: LedgerIntent[]) => intents.filter((i): i is AccrueIntent => i.type === 'accrue');
const compensations = (intents: LedgerIntent[]) =>
  intents.filter((i): i is CompensateIntent => i.type === 'compensate');

describe('CPA: qualification', () => {
  const deal = cpa({ minFirstDeposit: '20.00', windowDays: 30 });

  it('a first deposit of at least 20 EUR within 30 days of registration earns one CPA, held 30 days from the deposit', () => {
    const ftd = deposit(day(5), '50.00');
    const { intents } = fold(deal, [registered(), ftd]);
    assert.deepEqual(intents, [
      {
        type: 'accrue',
        rule: 'cpa',
        model: 'cpa',
        idempotencyKey: `cpa/${CUSTOMER}`,
        causeEventId: ftd.id,
        customerId: CUSTOMER,
        amount: '100.00',
        currency: 'EUR',
        occurredAt: day(5),
        holdUntil: day(35),
        clawbackUntil: day(95),
      },
    ]);
  });

  it('later deposits never earn a second CPA', () => {
    const { intents } = fold(deal, [registered(), deposit(day(5), '50.00'), deposit(day(6), '500.00')]);
    assert.equal(accruals(intents).length, 1);
  });

  it('a first deposit below the minimum never qualifies, however large the later ones', () => {
    const { intents } = fold(deal, [registered(), deposit(day(5), '19.99'), deposit(day(6), '500.00')]);
    assert.deepEqual(intents, []);
  });

  it('a first deposit after the 30-day window does not qualify', () => {
    const { intents } = fold(deal, [registered(day(1)), deposit(day(31), '50.00')]);
    assert.deepEqual(intents, []);
  });

  it('deposits in another currency than the CPA do not count', () => {
    const { intents } = fold(deal, [registered(), deposit(day(5), '50.00', 'dep-usd', 'USD')]);
    assert.deepEqual(intents, []);
  });

  it('with no minimum at all, any first deposit qualifies: a CPA pays for a depositing customer', () => {
    const { intents } = fold(cpa({}), [registered()]);
    assert.deepEqual(intents, []);
    assert.equal(accruals(fold(cpa({}), [registered(), deposit(day(2), '0.01')]).intents).length, 1);
  });

  it('cumulative deposits qualify at the deposit that reaches the minimum', () => {
    const third = deposit(day(4), '10.00');
    const { intents } = fold(cpa({ minCumulativeDeposits: '25.00', windowDays: 30 }), [
      registered(),
      deposit(day(2), '10.00'),
      deposit(day(3), '10.00'),
      third,
    ]);
    assert.equal(accruals(intents).length, 1);
    assert.equal(accruals(intents)[0]!.causeEventId, third.id);
    assert.equal(accruals(intents)[0]!.occurredAt, day(4));
  });

  it('when KYC is required, the CPA is earned when KYC is verified, and held from then', () => {
    const kyc = ev('customer.kyc_changed', day(10), { kycStatus: 'verified' });
    const deal = cpa({ minFirstDeposit: '20.00', requireKyc: true });
    const before = fold(deal, [registered(), deposit(day(5), '50.00')]);
    assert.deepEqual(before.intents, []);
    const after = fold(deal, [kyc], before);
    assert.equal(after.last.length, 1);
    assert.equal((after.last[0] as AccrueIntent).causeEventId, kyc.id);
    assert.equal((after.last[0] as AccrueIntent).holdUntil, day(40));
  });

  it('KYC verified once counts, even if it later expires: qualification is judged at its own moment', () => {
    const deal = cpa({ requireKyc: true });
    const { intents } = fold(deal, [
      registered(),
      ev('customer.kyc_changed', day(2), { kycStatus: 'verified' }),
      ev('customer.kyc_changed', day(3), { kycStatus: 'expired' }),
      deposit(day(4), '10.00'),
    ]);
    assert.deepEqual(accruals(intents), []);
    const inOrder = fold(deal, [
      registered(),
      ev('customer.kyc_changed', day(2), { kycStatus: 'verified' }),
      deposit(day(3), '10.00'),
      ev('customer.kyc_changed', day(4), { kycStatus: 'expired' }),
    ]);
    assert.equal(accruals(inOrder.intents).length, 1);
  });

  it('when wagering is required, a wagering.completed completes the qualification', () => {
    const wager = ev('wagering.completed', day(8), { requirementId: 'bonus-1' });
    const { intents } = fold(cpa({ requireWagering: true }), [registered(), deposit(day(5), '50.00'), wager]);
    assert.equal(accruals(intents)[0]?.causeEventId, wager.id);
  });

  it('a customer registered outside the deal’s countries never qualifies', () => {
    const { intents } = fold(cpa({ countries: ['DE', 'AT'] }), [
      registered(day(1), 'FR'),
      deposit(day(2), '50.00'),
    ]);
    assert.deepEqual(intents, []);
  });

  it('a qualification completed after the deadline does not count', () => {
    const deal = cpa({ requireKyc: true, deadlineDays: 14 });
    const late = fold(deal, [
      registered(day(1)),
      deposit(day(2), '50.00'),
      ev('customer.kyc_changed', day(15), { kycStatus: 'verified' }),
    ]);
    assert.deepEqual(late.intents, []);
    const inTime = fold(deal, [
      registered(day(1)),
      deposit(day(2), '50.00'),
      ev('customer.kyc_changed', day(14), { kycStatus: 'verified' }),
    ]);
    assert.equal(accruals(inTime.intents).length, 1);
  });

  it('a late, earlier-dated deposit that completes the minimum accrues, dated when the minimum was reached', () => {
    const deal = cpa({ minCumulativeDeposits: '20.00', windowDays: 30 });
    const later = deposit(day(5), '15.00');
    const earlier = deposit(day(3), '10.00');
    const { intents } = fold(deal, [registered(), later, earlier]);
    assert.equal(accruals(intents).length, 1);
    // Sorted by event time the deposits are 10 (day 3) then 15 (day 5): the minimum was reached on day 5.
    assert.equal(accruals(intents)[0]!.causeEventId, later.id);
    assert.equal(accruals(intents)[0]!.holdUntil, day(35));
  });

  it('a late, earlier-dated small deposit that becomes the FTD flags the CPA for review, and claws nothing back', () => {
    const { intents, last } = fold(deal, [registered(), deposit(day(5), '50.00'), deposit(day(3), '5.00')]);
    assert.equal(accruals(intents).length, 1);
    assert.deepEqual(
      last.map((i) => i.type === 'compensate' && [i.kind, i.reason]),
      [['review', 'qualification_changed']],
    );
  });

  it('the CPA earned does not depend on the order events arrive in', () => {
    const deal = cpa({
      minCumulativeDeposits: '30.00',
      windowDays: 30,
      requireKyc: true,
      requireWagering: true,
    });
    const events = [
      registered(day(1)),
      deposit(day(2), '10.00'),
      deposit(day(4), '15.00'),
      deposit(day(9), '20.00'),
      ev('customer.kyc_changed', day(3), { kycStatus: 'verified' }),
      ev('wagering.completed', day(6), { requirementId: 'r-1' }),
    ];
    const expected = accruals(fold(deal, events).intents);
    assert.equal(expected.length, 1);
    assert.equal(expected[0]!.occurredAt, day(9));
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length }), (shuffled) => {
        assert.deepEqual(accruals(fold(deal, shuffled).intents), expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe('compensation: chargebacks, refunds, fraud, KYC, self-exclusion', () => {
  const deal = cpa({ minFirstDeposit: '20.00', windowDays: 30 });
  const qualified = () => fold(deal, [registered(), deposit(day(5), '50.00', 'dep-ftd')]);
  const key = `cpa/${CUSTOMER}`;

  it('a chargeback of the qualifying deposit rejects the CPA while it is pending', () => {
    const cb = ev('deposit.chargeback', day(10), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    const { last, state } = fold(deal, [cb], qualified());
    assert.equal(last.length, 1);
    const c = last[0] as CompensateIntent;
    assert.deepEqual(
      [c.kind, c.reason, c.causeEventId, c.target.idempotencyKey],
      ['reject', 'chargeback', cb.id, key],
    );
    assert.equal(state.commissions[0]!.status, 'rejected');
  });

  it('once approved, a chargeback inside the clawback window reverses it', () => {
    const approved = qualified();
    approved.state = withStatus(approved.state, key, 'approved');
    const cb = ev('deposit.chargeback', day(60), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    const { last } = fold(deal, [cb], approved);
    assert.deepEqual(
      last.map((i) => i.type === 'compensate' && [i.kind, i.reason]),
      [['reverse', 'chargeback']],
    );
  });

  it('after the clawback window (90 days from the deposit), a chargeback only flags it for review', () => {
    const approved = qualified();
    approved.state = withStatus(approved.state, key, 'approved');
    const cb = ev('deposit.chargeback', day(96), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    assert.deepEqual(
      fold(deal, [cb], approved).last.map((i) => i.type === 'compensate' && [i.kind, i.reason]),
      [['review', 'chargeback']],
    );
  });

  it('a partial refund that leaves the first deposit above the minimum changes nothing', () => {
    const refund = ev('deposit.refunded', day(7), { depositId: 'dep-ftd', amount: '30.00', currency: 'EUR' });
    assert.deepEqual(fold(deal, [refund], qualified()).last, []);
    const more = ev('deposit.refunded', day(8), { depositId: 'dep-ftd', amount: '0.01', currency: 'EUR' });
    assert.deepEqual(
      fold(deal, [refund, more], qualified()).last.map((i) => i.type === 'compensate' && i.reason),
      ['refund'],
    );
  });

  it('a chargeback that arrives before its deposit counts when the deposit arrives: no CPA', () => {
    const cb = ev('deposit.chargeback', day(6), { depositId: 'dep-x', amount: '50.00', currency: 'EUR' });
    const { intents } = fold(deal, [registered(), cb, deposit(day(5), '50.00', 'dep-x')]);
    assert.deepEqual(intents, []);
  });

  it('a high-severity fraud flag compensates every open commission and stops accruals; a low one does nothing', () => {
    const hybrid: Deal = {
      model: 'hybrid',
      cpa: { amount: '50.00', currency: 'EUR', qualification: {} },
      revshare: { percent: '20', negativeCarryover: false },
      ...timing,
    };
    const base = fold(hybrid, [
      registered(),
      deposit(day(2), '10.00'),
      ev('revenue.daily', day(3), { date: '2026-01-03', ngr: '100.00', currency: 'EUR' }),
    ]);
    assert.deepEqual(
      accruals(base.intents).map((a) => [a.rule, a.model, a.amount]),
      [
        ['cpa', 'hybrid', '50.00'],
        ['revshare', 'hybrid', '20.00'],
      ],
    );
    assert.deepEqual(
      fold(hybrid, [ev('customer.fraud_flagged', day(4), { flag: 'vpn', severity: 'low' })], base).last,
      [],
    );
    const flagged = fold(
      hybrid,
      [ev('customer.fraud_flagged', day(4), { flag: 'bonus-abuse', severity: 'high' })],
      base,
    );
    assert.deepEqual(
      flagged.last.map((i) => i.type === 'compensate' && [i.kind, i.reason, i.target.rule]),
      [
        ['reject', 'fraud_high', 'cpa'],
        ['reject', 'fraud_high', 'revshare'],
      ],
    );
    const after = fold(
      hybrid,
      [ev('revenue.daily', day(5), { date: '2026-01-05', ngr: '100.00', currency: 'EUR' })],
      flagged,
    );
    assert.deepEqual(after.last, []);
  });

  it('self-exclusion rejects what is pending and pauses accruals until the customer is active again', () => {
    const rs: Deal = { model: 'revshare', percent: '25', negativeCarryover: false, ...timing };
    const revenue = (n: number, ngr: string) =>
      ev('revenue.daily', day(n), { date: day(n).slice(0, 10), ngr, currency: 'EUR' });
    const excluded = fold(rs, [
      revenue(2, '100.00'),
      ev('customer.status_changed', day(3), { status: 'self_excluded', reason: 'player request' }),
      revenue(4, '100.00'),
    ]);
    assert.deepEqual(
      excluded.intents.map((i) => (i.type === 'accrue' ? ['accrue', i.amount] : [i.kind, i.reason])),
      [
        ['accrue', '25.00'],
        ['reject', 'self_exclusion'],
      ],
    );
    const back = fold(
      rs,
      [ev('customer.status_changed', day(20), { status: 'active', reason: 'ended' }), revenue(21, '40.00')],
      excluded,
    );
    assert.deepEqual(
      accruals(back.last).map((a) => a.amount),
      ['10.00'],
    );
  });

  it("under RevShare a chargeback lowers the period's NGR: the next days pay only once it is earned back", () => {
    const rs: Deal = { model: 'revshare', percent: '25', negativeCarryover: false, ...timing };
    const revenue = (n: number, ngr: string) =>
      ev('revenue.daily', day(n), { date: day(n).slice(0, 10), ngr, currency: 'EUR' });
    const cb = ev('deposit.chargeback', day(3), { depositId: 'dep-x', amount: '100.00', currency: 'EUR' });
    const { intents, account } = fold(rs, [revenue(2, '800.00'), cb, revenue(4, '300.00')]);
    // 800 paid 200; the chargeback takes the level to 700; 300 more lifts it to 1000: 200 above the 800 paid.
    assert.deepEqual(
      accruals(intents).map((a) => a.amount),
      ['200.00', '50.00'],
    );
    assert.equal(account?.level, '1000.00');
    // Without the chargeback the same days would pay 75.00 on the second.
    assert.deepEqual(
      accruals(fold(rs, [revenue(2, '800.00'), revenue(4, '300.00')]).intents).map((a) => a.amount),
      ['200.00', '75.00'],
    );
  });

  it('a KYC rejection compensates every open commission', () => {
    const { last } = fold(deal, [ev('customer.kyc_changed', day(9), { kycStatus: 'rejected' })], qualified());
    assert.deepEqual(
      last.map((i) => i.type === 'compensate' && [i.kind, i.reason]),
      [['reject', 'kyc_rejected']],
    );
  });

  it('a duplicate account rejects the CPA only, and can never earn one', () => {
    const dup = ev('customer.status_changed', day(9), { status: 'duplicate', reason: 'same device' });
    assert.deepEqual(
      fold(deal, [dup], qualified()).last.map((i) => i.type === 'compensate' && i.reason),
      ['duplicate'],
    );
    assert.deepEqual(fold(deal, [registered(), dup, deposit(day(10), '50.00')]).intents, []);
  });

  it('a commission is compensated once: a second chargeback or flag adds nothing', () => {
    const cb1 = ev('deposit.chargeback', day(10), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    const cb2 = ev('deposit.refunded', day(11), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    const fraud = ev('customer.fraud_flagged', day(12), { flag: 'x', severity: 'high' });
    const { intents } = fold(deal, [cb1, cb2, fraud], qualified());
    assert.equal(compensations(intents).length, 1);
  });

  it('with no active affiliate (deal null) facts still fold and compensations still apply, but nothing accrues', () => {
    const base = qualified();
    const cb = ev('deposit.chargeback', day(10), { depositId: 'dep-ftd', amount: '50.00', currency: 'EUR' });
    assert.equal(compensations(fold(null, [cb], base).last).length, 1);
    assert.deepEqual(fold(null, [registered(), deposit(day(2), '50.00')]).intents, []);
  });
});

describe('lot and challenge commissions', () => {
  const lot: Deal = {
    model: 'lot',
    amountPerLot: '7.00',
    currency: 'USD',
    instruments: { XAUUSD: '8.00' },
    ...timing,
  };
  const trade = (tradeId: string, instrument: string, lots: string, id?: string) =>
    ev('trade.closed', day(3), { tradeId, accountId: 'acc-1', instrument, lots }, id);

  it('a closed trade pays amountPerLot x lots, or the instrument’s own amount, in the deal currency', () => {
    const { intents } = fold(lot, [trade('t-1', 'EURUSD', '2.5'), trade('t-2', 'XAUUSD', '0.35')]);
    assert.deepEqual(
      accruals(intents).map((a) => [a.idempotencyKey, a.amount, a.currency]),
      [
        ['lot/acc-1/t-1', '17.50', 'USD'],
        ['lot/acc-1/t-2', '2.80', 'USD'],
      ],
    );
  });

  it('the same trade sent again under another event id pays nothing more', () => {
    const { intents } = fold(lot, [
      trade('t-1', 'EURUSD', '1', 'evt-a'),
      trade('t-1', 'EURUSD', '1', 'evt-b'),
    ]);
    assert.equal(accruals(intents).length, 1);
  });

  it('a challenge pays a percent of its price in the price’s currency, or a fixed amount', () => {
    const purchase = (challengeId: string, price: string) =>
      ev('challenge.purchased', day(2), { challengeId, planId: 'p-100k', price, currency: 'USD' });
    const pct: Deal = { model: 'challenge', percent: '15', ...timing };
    assert.deepEqual(
      accruals(fold(pct, [purchase('ch-1', '99.00')]).intents).map((a) => [a.amount, a.currency]),
      [['14.85', 'USD']],
    );
    const fixed: Deal = { model: 'challenge', amount: '25.00', currency: 'EUR', ...timing };
    assert.deepEqual(
      accruals(fold(fixed, [purchase('ch-1', '99.00')]).intents).map((a) => [a.amount, a.currency]),
      [['25.00', 'EUR']],
    );
    assert.deepEqual(fold(pct, [purchase('ch-free', '0')]).intents, []);
  });

  it('challenge.refunded compensates that challenge’s commission only; a refund before the purchase prevents it', () => {
    const pct: Deal = { model: 'challenge', percent: '10', ...timing };
    const buy = (id: string) =>
      ev('challenge.purchased', day(2), { challengeId: id, planId: 'p', price: '100.00', currency: 'USD' });
    const refund = (id: string) =>
      ev('challenge.refunded', day(4), { challengeId: id, amount: '100.00', currency: 'USD' });
    const { last } = fold(pct, [buy('ch-1'), buy('ch-2'), refund('ch-2')]);
    assert.deepEqual(
      last.map((i) => i.type === 'compensate' && [i.kind, i.reason, i.target.idempotencyKey]),
      [['reject', 'challenge_refund', 'challenge/ch-2']],
    );
    assert.deepEqual(fold(pct, [refund('ch-3'), buy('ch-3')]).intents, []);
  });
});

describe('idempotency', () => {
  it('evaluating the same event twice yields nothing the second time and leaves the state as it was', () => {
    const deal = cpa({});
    const dep = deposit(day(2), '10.00');
    const once = fold(deal, [registered(), dep]);
    const again = evaluate({ deal, state: once.state, event: dep });
    assert.deepEqual(again.intents, []);
    assert.equal(again.state, once.state);
  });
});

describe('properties over random customer histories (fast-check)', () => {
  const deal: Deal = {
    model: 'hybrid',
    cpa: {
      amount: '30.00',
      currency: 'EUR',
      qualification: { minCumulativeDeposits: '20.00', windowDays: 10 },
    },
    revshare: { percent: '25', tiers: [{ fromNgr: '100', percent: '35' }], negativeCarryover: true },
    ...timing,
  };

  const eventArb: fc.Arbitrary<CommissionEvent> = fc
    .tuple(
      fc.integer({ min: 1, max: 40 }),
      fc.oneof(
        fc.constant({ type: 'customer.registered' as const }),
        fc.record({
          type: fc.constant('deposit.completed' as const),
          dep: fc.integer({ min: 1, max: 4 }),
          cents: fc.integer({ min: 1, max: 3000 }),
        }),
        fc.record({
          type: fc.constant('deposit.chargeback' as const),
          dep: fc.integer({ min: 1, max: 4 }),
          cents: fc.integer({ min: 1, max: 3000 }),
        }),
        fc.record({
          type: fc.constant('revenue.daily' as const),
          cents: fc.integer({ min: -20000, max: 20000 }),
        }),
        fc.record({ type: fc.constant('customer.fraud_flagged' as const), high: fc.boolean() }),
        fc.record({ type: fc.constant('customer.status_changed' as const), excluded: fc.boolean() }),
        fc.record({ type: fc.constant('customer.kyc_changed' as const), rejected: fc.boolean() }),
      ),
      fc.integer({ min: 1, max: 6 }),
    )
    .map(([d, e, idn]) => {
      const at = day(d);
      // Whole cents from the generator, written as a decimal string digit by digit.
      const money = (cents: number) => {
        const digits = String(Math.abs(cents)).padStart(3, '0');
        return `${cents < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
      };
      const id = `e-${e.type}-${d}-${idn}`;
      switch (e.type) {
        case 'customer.registered':
          return ev('customer.registered', at, { country: 'DE' }, id);
        case 'deposit.completed':
          return ev(
            'deposit.completed',
            at,
            { depositId: `d${e.dep}`, amount: money(e.cents), currency: 'EUR' },
            id,
          );
        case 'deposit.chargeback':
          return ev(
            'deposit.chargeback',
            at,
            { depositId: `d${e.dep}`, amount: money(e.cents), currency: 'EUR' },
            id,
          );
        case 'revenue.daily':
          return ev('revenue.daily', at, { date: at.slice(0, 10), ngr: money(e.cents), currency: 'EUR' }, id);
        case 'customer.fraud_flagged':
          return ev('customer.fraud_flagged', at, { flag: 'f', severity: e.high ? 'high' : 'low' }, id);
        case 'customer.status_changed':
          return ev(
            'customer.status_changed',
            at,
            { status: e.excluded ? 'self_excluded' : 'active', reason: 'r' },
            id,
          );
        case 'customer.kyc_changed':
          return ev('customer.kyc_changed', at, { kycStatus: e.rejected ? 'rejected' : 'verified' }, id);
      }
    });

  it('at most one accrual per key, compensations only of what was accrued, each at most once', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (events, approvals) => {
          let state = initialState(CUSTOMER);
          let account: RevshareAccount | null = null;
          const intents: LedgerIntent[] = [];
          for (const [i, event] of events.entries()) {
            // Now and then a hold timer approves a pending commission.
            const pick = approvals[i];
            const pending = state.commissions.filter((c) => c.status === 'pending');
            if (pick !== undefined && pending.length)
              state = withStatus(state, pending[pick % pending.length]!.idempotencyKey, 'approved');
            const out = evaluate({ deal, state, event, revshareAccount: account });
            // Replaying the event changes nothing.
            assert.deepEqual(
              evaluate({ deal, state: out.state, event, revshareAccount: out.revshareAccount }).intents,
              [],
            );
            state = out.state;
            account = out.revshareAccount;
            intents.push(...out.intents);
          }
          const keys = accruals(intents).map((a) => a.idempotencyKey);
          assert.equal(new Set(keys).size, keys.length, 'one accrual per key');
          const moneyMoves = compensations(intents).filter((c) => c.kind !== 'review');
          for (const c of compensations(intents))
            assert.ok(keys.includes(c.target.idempotencyKey), 'targets an accrual');
          const targets = moneyMoves.map((c) => c.target.idempotencyKey);
          assert.equal(new Set(targets).size, targets.length, 'rejected or reversed at most once');
          for (const a of accruals(intents)) assert.ok(Date.parse(a.holdUntil) > Date.parse(a.occurredAt));
        },
      ),
      { numRuns: 200 },
    );
  });
});
