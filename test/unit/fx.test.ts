import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CpaDeal, Deal } from '../../src/domain/commission/deals.js';
import { evaluate, initialState, type CommissionState } from '../../src/domain/commission/evaluate.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';
import { ratesNeededFor } from '../../src/domain/commission/fx-needs.js';
import { cpaQualification } from '../../src/domain/commission/qualification.js';
import {
  convert,
  fxKey,
  isUsableRate,
  quoteFor,
  ratesNeeded,
  utcDate,
  type FxTable,
} from '../../src/domain/fx.js';

const timing = { holdPeriod: '30d', clawbackWindow: '90d' };
const usdCpa = (qualification: CpaDeal['qualification']): CpaDeal => ({
  model: 'cpa',
  amount: '100.00',
  currency: 'USD',
  qualification,
  ...timing,
});
/** Day n of 2026 at noon UTC. */
const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12)).toISOString();
const date = (n: number) => day(n).slice(0, 10);

let seq = 0;
function ev<T extends CommissionEvent['type']>(
  type: T,
  at: string,
  data: Extract<CommissionEvent, { type: T }>['data'],
): CommissionEvent {
  return { id: `evt-${++seq}`, type, occurredAt: at, data } as CommissionEvent;
}
const registered = () => ev('customer.registered', day(1), { country: 'DE' });
const deposit = (at: string, amount: string, currency: string, depositId = `dep-${++seq}`) =>
  ev('deposit.completed', at, { depositId, amount, currency });

function table(...quotes: { from: string; to: string; rate: string; on: string; date?: string }[]): FxTable {
  return Object.fromEntries(
    quotes.map((q) => [
      fxKey(q.from, q.to, q.on),
      { from: q.from, to: q.to, rate: q.rate, date: q.date ?? q.on },
    ]),
  );
}

/** Folds the events one by one, as the settlement does, and returns every intent with the last state. */
function run(deal: Deal, events: CommissionEvent[], fx: FxTable) {
  let state: CommissionState = initialState('player-1');
  const intents = [];
  for (const event of events) {
    const out = evaluate({ deal, state, event, fx });
    intents.push(...out.intents);
    state = out.state;
  }
  return { intents, state };
}

describe('converting an amount at the operator rate', () => {
  it('is the exact product rounded once, half away from zero, to the target minor unit', () => {
    const q = { from: 'EUR', to: 'USD', rate: '1.0850', date: '2026-01-02' };
    assert.equal(convert('50.00', q), '54.25');
    assert.equal(convert('0.10', { ...q, rate: '1.125' }), '0.11'); // 0.1125 -> 0.11
    assert.equal(convert('0.30', { ...q, rate: '1.125' }), '0.34'); // 0.3375 -> 0.34
    assert.equal(convert('1000', { ...q, to: 'JPY', rate: '161.2345' }), '161235'); // JPY has no decimals
  });

  it('takes the rate of the amount UTC date, never the local one', () => {
    const fx = table({ from: 'EUR', to: 'USD', rate: '1.1', on: '2026-01-02' });
    assert.equal(quoteFor(fx, 'EUR', 'USD', '2026-01-02T23:30:00-02:00'), null); // 01:30 UTC on the 3rd
    assert.equal(quoteFor(fx, 'EUR', 'USD', '2026-01-03T00:30:00+02:00')?.rate, '1.1');
    assert.equal(utcDate('2026-01-03T00:30:00+02:00'), '2026-01-02');
  });

  it('accepts positive rates of at most 6 integer digits and 8 decimals', () => {
    for (const ok of ['1.0850', '0.00000001', '999999.99999999', '25000']) assert.ok(isUsableRate(ok), ok);
    for (const bad of ['0', '0.000', '-1.1', '1e3', '1000000', '1.123456789', '', ' 1'])
      assert.ok(!isUsableRate(bad), bad);
  });

  it('needs one rate per currency and date, none for the target currency', () => {
    const needs = ratesNeeded(
      [
        { currency: 'EUR', at: day(2) },
        { currency: 'EUR', at: day(2) },
        { currency: 'USD', at: day(2) },
        { currency: 'GBP', at: day(3) },
      ],
      'USD',
    );
    assert.deepEqual(needs, [
      { from: 'EUR', to: 'USD', on: date(2) },
      { from: 'GBP', to: 'USD', on: date(3) },
    ]);
  });
});

describe('a CPA judging deposits in another currency', () => {
  const facts = (events: CommissionEvent[]) => run(usdCpa({}), events, {}).state.facts;

  it('counts a first deposit at its value in the CPA currency: exactly the minimum qualifies', () => {
    const deal = usdCpa({ minFirstDeposit: '54.25' });
    const events = [registered(), deposit(day(2), '50.00', 'EUR')];
    const fx = table({ from: 'EUR', to: 'USD', rate: '1.0850', on: date(2) });
    const q = cpaQualification(deal, facts(events), fx);
    assert.ok(q.qualified);
    assert.deepEqual(q.fx, [{ from: 'EUR', to: 'USD', rate: '1.0850', date: date(2) }]);
    const low = cpaQualification({ ...deal, qualification: { minFirstDeposit: '54.26' } }, facts(events), fx);
    assert.deepEqual(low, { qualified: false, shortfall: 'first_deposit', asOf: day(2) });
  });

  it('waits (fx_rate_missing) without the rate, and the rate of another pair or day does not serve', () => {
    const events = [registered(), deposit(day(2), '50.00', 'EUR')];
    for (const fx of [
      {},
      table({ from: 'USD', to: 'EUR', rate: '0.92', on: date(2) }),
      table({ from: 'EUR', to: 'USD', rate: '1.08', on: date(3) }),
    ])
      assert.deepEqual(cpaQualification(usdCpa({}), facts(events), fx), {
        qualified: false,
        shortfall: 'fx_rate_missing',
        asOf: day(2),
      });
  });

  it('does not pay at a later moment what a missing rate leaves undecided at an earlier one', () => {
    // The EUR first deposit might qualify on day 2; the USD deposit of day 3 must not earn the CPA then.
    const deal = usdCpa({ minCumulativeDeposits: '50.00' });
    const events = [registered(), deposit(day(2), '50.00', 'EUR'), deposit(day(3), '60.00', 'USD')];
    assert.equal(cpaQualification(deal, facts(events), {}).qualified, false);
    const fx = table({ from: 'EUR', to: 'USD', rate: '1.0850', on: date(2) });
    const q = cpaQualification(deal, facts(events), fx);
    assert.ok(q.qualified && q.at === day(2), JSON.stringify(q));
  });

  it('sums cumulative deposits each at its own date rate, and records every rate used', () => {
    const deal = usdCpa({ minCumulativeDeposits: '100.00' });
    const events = [
      registered(),
      deposit(day(2), '40.00', 'EUR'),
      deposit(day(3), '40.00', 'EUR'),
      deposit(day(4), '12.00', 'USD'),
    ];
    const fx = table(
      { from: 'EUR', to: 'USD', rate: '1.10', on: date(2) },
      { from: 'EUR', to: 'USD', rate: '1.10', on: date(3), date: date(2) }, // looked back a day
    );
    const q = cpaQualification(deal, facts(events), fx); // 44.00 + 44.00 + 12.00
    assert.ok(q.qualified && q.at === day(4), JSON.stringify(q));
    assert.deepEqual(q.fx, [{ from: 'EUR', to: 'USD', rate: '1.10', date: date(2) }]);
  });

  it('the accrual intent carries the rates; without them it carries none and nothing accrues', () => {
    const deal = usdCpa({ minFirstDeposit: '50.00' });
    const events = [registered(), deposit(day(2), '50.00', 'EUR')];
    assert.deepEqual(run(deal, events, {}).intents, []);
    const fx = table({ from: 'EUR', to: 'USD', rate: '1.0850', on: date(2) });
    const [accrual, ...rest] = run(deal, events, fx).intents;
    assert.deepEqual(rest, []);
    assert.ok(accrual?.type === 'accrue');
    assert.equal(accrual.amount, '100.00');
    assert.equal(accrual.currency, 'USD');
    assert.deepEqual(accrual.fx, [{ from: 'EUR', to: 'USD', rate: '1.0850', date: date(2) }]);
  });

  it('a deposit in the CPA currency needs no rate and records none', () => {
    const [accrual] = run(usdCpa({}), [registered(), deposit(day(2), '5.00', 'USD')], {}).intents;
    assert.ok(accrual?.type === 'accrue');
    assert.equal(accrual.fx, undefined);
  });

  it('a paid CPA is not flagged because a late, earlier deposit has no rate yet to judge it by', () => {
    const deal = usdCpa({ minFirstDeposit: '50.00' });
    const fx = table({ from: 'EUR', to: 'USD', rate: '1.0850', on: date(3) });
    const { state } = run(deal, [registered(), deposit(day(3), '50.00', 'EUR')], fx);
    assert.equal(state.commissions.length, 1);
    // A GBP deposit dated the day before arrives late: it is the first deposit now, and has no rate.
    const late = deposit(day(2), '10.00', 'GBP');
    assert.deepEqual(evaluate({ deal, state, event: late, fx }).intents, []);
    // With its rate, it is judged: too small, so the paid CPA no longer holds and a person must look.
    const withGbp = { ...fx, ...table({ from: 'GBP', to: 'USD', rate: '1.25', on: date(2) }) };
    const [flag] = evaluate({ deal, state, event: late, fx: withGbp }).intents;
    assert.ok(flag?.type === 'compensate' && flag.reason === 'qualification_changed', JSON.stringify(flag));
  });
});

describe('the rates a settlement resolves before evaluating', () => {
  it('are the customer deposits (the event included) in the CPA currency, and none for a deal without a CPA', () => {
    const deal = usdCpa({});
    let state = initialState('p');
    state = evaluate({ deal, state, event: registered() }).state;
    state = evaluate({ deal, state, event: deposit(day(2), '10.00', 'EUR') }).state;
    const next = deposit(day(3), '10.00', 'GBP');
    assert.deepEqual(ratesNeededFor(deal, state, next), [
      { from: 'EUR', to: 'USD', on: date(2) },
      { from: 'GBP', to: 'USD', on: date(3) },
    ]);
    const lot: Deal = { model: 'lot', amountPerLot: '1', currency: 'USD', ...timing };
    assert.deepEqual(ratesNeededFor(lot, state, next), []);
  });
});
