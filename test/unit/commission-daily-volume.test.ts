import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deal, LotDeal } from '../../src/domain/commission/deals.js';
import {
  evaluate,
  initialState,
  type AccrueIntent,
  type CommissionState,
} from '../../src/domain/commission/evaluate.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';
import type { VolumeDay } from '../../src/domain/commission/volume-day.js';

/**
 * Lot deals on daily trading volume (`trading.volume_daily`): the day's lots pay as closed trades do,
 * one source per deal, and a day is paid once however often it is re-sent.
 */

const timing = { holdPeriod: '30d', clawbackWindow: '90d' };
const at = (n: number) => new Date(Date.UTC(2026, 0, n, 23)).toISOString();

const daily: LotDeal = {
  model: 'lot',
  amountPerLot: '7.00',
  currency: 'USD',
  instruments: { XAUUSD: '8.00' },
  lotSource: 'daily_volume',
  ...timing,
};
const { lotSource: _, ...tradesDeal } = daily;
const trades: LotDeal = tradesDeal;

let seq = 0;
function volume(accountId: string, date: string, lots: Record<string, string>, id = `vol-${++seq}`) {
  const n = Number(date.slice(8, 10));
  return {
    id,
    type: 'trading.volume_daily',
    occurredAt: at(n),
    data: { accountId, date, lots },
  } as CommissionEvent;
}
const trade = (accountId: string, instrument: string, lots: string) =>
  ({
    id: `trade-evt-${++seq}`,
    type: 'trade.closed',
    occurredAt: at(5),
    data: { tradeId: `t-${seq}`, accountId, instrument, lots },
  }) as CommissionEvent;

/**
 * Folds events as the settlement does: each `trading.volume_daily` is evaluated with its account's day as
 * last saved, and the day it returns is saved.
 */
function settle(deal: Deal, events: CommissionEvent[]) {
  let state: CommissionState = initialState('trader-1');
  const days = new Map<string, VolumeDay>();
  const accruals: AccrueIntent[] = [];
  for (const event of events) {
    const key = event.type === 'trading.volume_daily' ? `${event.data.accountId}/${event.data.date}` : null;
    const volumeDay = key ? (days.get(key) ?? null) : null;
    const out = evaluate({ deal, state, event, volumeDay });
    state = out.state;
    if (key && out.volumeDay) days.set(key, out.volumeDay);
    accruals.push(...out.intents.filter((i): i is AccrueIntent => i.type === 'accrue'));
  }
  return { accruals, days };
}

const paid = (accruals: AccrueIntent[]) => accruals.map((a) => [a.idempotencyKey, a.amount, a.currency]);

describe('daily trading volume under a lot deal', () => {
  it("pays amountPerLot x the day's lots (an instrument's own amount for its lots), summed and rounded once", () => {
    const { accruals } = settle(daily, [
      volume(
        'acc-1',
        '2026-01-05',
        { EURUSD: '2.5', XAUUSD: '0.35', GBPUSD: '0.0005', USDJPY: '0.0005' },
        'v-1',
      ),
    ]);
    // 17.50 + 2.80 + 0.0035 + 0.0035 = 20.307 -> 20.31 (rounded per instrument it would be 20.30)
    assert.deepEqual(paid(accruals), [['lot-day/acc-1/2026-01-05/v-1', '20.31', 'USD']]);
    assert.equal(accruals[0]!.rule, 'lot');
    assert.equal(accruals[0]!.holdUntil, new Date(Date.parse(at(5)) + 30 * 86_400_000).toISOString());
  });

  it('pays each account and each day on its own', () => {
    const { accruals } = settle(daily, [
      volume('acc-1', '2026-01-05', { EURUSD: '1' }, 'a'),
      volume('acc-1', '2026-01-06', { EURUSD: '2' }, 'b'),
      volume('acc-2', '2026-01-05', { XAUUSD: '1' }, 'c'),
    ]);
    assert.deepEqual(paid(accruals), [
      ['lot-day/acc-1/2026-01-05/a', '7.00', 'USD'],
      ['lot-day/acc-1/2026-01-06/b', '14.00', 'USD'],
      ['lot-day/acc-2/2026-01-05/c', '8.00', 'USD'],
    ]);
  });

  it('a trading.volume_daily pays nothing under a deal that pays on trades, and a trade.closed nothing under one on daily volume', () => {
    assert.deepEqual(settle(trades, [volume('acc-1', '2026-01-05', { EURUSD: '10' })]).accruals, []);
    assert.deepEqual(settle(daily, [trade('acc-1', 'EURUSD', '10')]).accruals, []);
    // Without lotSource, a lot deal pays on trades as it always has.
    assert.deepEqual(
      settle(trades, [trade('acc-1', 'EURUSD', '1')]).accruals.map((a) => a.amount),
      ['7.00'],
    );
  });

  it('the same day re-sent under a new id with the same figure pays nothing more', () => {
    const { accruals } = settle(daily, [
      volume('acc-1', '2026-01-05', { EURUSD: '3' }, 'v-1'),
      volume('acc-1', '2026-01-05', { EURUSD: '3' }, 'v-2'),
    ]);
    assert.deepEqual(paid(accruals), [['lot-day/acc-1/2026-01-05/v-1', '21.00', 'USD']]);
  });

  it('a correction of a day replaces its figure and books only the difference; a lower one books nothing, and what follows pays only above the most paid', () => {
    const { accruals, days } = settle(daily, [
      volume('acc-1', '2026-01-05', { EURUSD: '3' }, 'v-1'), // 21.00
      volume('acc-1', '2026-01-05', { EURUSD: '3', XAUUSD: '1' }, 'v-2'), // 29.00: +8.00
      volume('acc-1', '2026-01-05', { EURUSD: '2' }, 'v-3'), // 14.00: nothing
      volume('acc-1', '2026-01-05', { EURUSD: '4.5' }, 'v-4'), // 31.50: +2.50 above 29.00
    ]);
    assert.deepEqual(paid(accruals), [
      ['lot-day/acc-1/2026-01-05/v-1', '21.00', 'USD'],
      ['lot-day/acc-1/2026-01-05/v-2', '8.00', 'USD'],
      ['lot-day/acc-1/2026-01-05/v-4', '2.50', 'USD'],
    ]);
    assert.deepEqual(days.get('acc-1/2026-01-05'), {
      lots: { EURUSD: '4.5' },
      paid: '31.50',
      currency: 'USD',
      eventId: 'v-4',
    });
  });

  it('the same event evaluated again (a re-settlement) pays nothing more', () => {
    const event = volume('acc-1', '2026-01-05', { EURUSD: '1' }, 'v-1');
    const first = settle(daily, [event]);
    assert.deepEqual(paid(first.accruals), [['lot-day/acc-1/2026-01-05/v-1', '7.00', 'USD']]);
    const again = evaluate({
      deal: daily,
      state: initialState('trader-1'),
      event,
      volumeDay: first.days.get('acc-1/2026-01-05')!,
    });
    assert.deepEqual(again.intents, []);
  });

  it('a day first paid under a deal in another currency pays nothing more when re-sent', () => {
    const eur: LotDeal = { ...daily, currency: 'EUR' };
    const first = settle(eur, [volume('acc-1', '2026-01-05', { EURUSD: '1' })]);
    assert.deepEqual(
      first.accruals.map((a) => `${a.amount} ${a.currency}`),
      ['7.00 EUR'],
    );
    const out = evaluate({
      deal: daily,
      state: initialState('trader-1'),
      event: volume('acc-1', '2026-01-05', { EURUSD: '5' }),
      volumeDay: first.days.get('acc-1/2026-01-05')!,
    });
    assert.deepEqual(out.intents, []);
  });

  it('a blocked customer earns nothing on daily volume', () => {
    const fraud = {
      id: 'fraud-1',
      type: 'customer.fraud_flagged',
      occurredAt: at(1),
      data: { flag: 'multi-account', severity: 'high' },
    } as CommissionEvent;
    const day = volume('acc-1', '2026-01-05', { EURUSD: '1' });
    assert.equal(settle(daily, [day]).accruals.length, 1);
    assert.deepEqual(settle(daily, [fraud, day]).accruals, []);
  });
});
