import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Daily trading volume (issue 17, item 4) through the REST API on the real Temporal dev server and
 * PostgreSQL: a lot deal with `lotSource: "daily_volume"` pays each account's day of lots at its amounts
 * per lot, pays a day once however it is re-sent (a correction books only what it adds), and pays nothing
 * on closed trades; the ledger and the balance hold the exact sums.
 */

let sys: System;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
});

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

async function api(method: string, path: string, json?: unknown) {
  return sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
}

async function send(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

/** The event as GET shows it once its settlement has folded it. */
async function settled(eventId: string): Promise<Record<string, any>> {
  return eventually(`settlement of ${eventId}`, async () => {
    const res = await api('GET', `/v1/events/${eventId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.settlement?.status === 'settled' ? (res.body as Record<string, any>) : undefined;
  });
}

describe('lot deals on daily trading volume', () => {
  it('two accounts, two days, one day corrected: each day paid once at amountPerLot x lots, only the correction’s difference booked, trades not paid', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('trader');
    const put = await api('PUT', `/v1/affiliates/${affiliateId}`, {
      name: affiliateId,
      deal: {
        model: 'lot',
        lotSource: 'daily_volume',
        amountPerLot: '5.00',
        currency: 'USD',
        instruments: { XAUUSD: '8.00' },
        holdPeriod: '1h',
        clawbackWindow: '1d',
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal(put.body.deal.lotSource, 'daily_volume');
    await send({
      id: uniqueId('reg'),
      type: 'customer.registered',
      occurredAt: iso(-60 * 60_000),
      customerId,
      attribution: { affiliateId },
      data: { country: 'CY' },
    });
    let minute = -50;
    const volume = (accountId: string, date: string, lots: Record<string, string>) => ({
      id: uniqueId('vol'),
      type: 'trading.volume_daily',
      occurredAt: iso(minute++ * 60_000),
      customerId,
      data: { accountId, date, lots, volume: '100000.00', currency: 'USD' },
    });
    const [accA, accB] = [uniqueId('mt5'), uniqueId('mt5')];
    const [day1, day2] = ['2026-12-03', '2026-12-04'];

    // First figures: 2 x 5 + 1 x 8 = 18.00; 3 x 5 = 15.00; 0.5 x 8 = 4.00; 1.25 x 5 = 6.25.
    const a1 = volume(accA, day1, { EURUSD: '2', XAUUSD: '1' });
    const a2 = volume(accA, day2, { EURUSD: '3' });
    const b1 = volume(accB, day1, { XAUUSD: '0.5' });
    const b2 = volume(accB, day2, { EURUSD: '1.25' });
    for (const e of [a1, a2, b1, b2]) await send(e);
    for (const e of [a1, a2, b1, b2]) await settled(e.id);

    // The broker corrects account A's first day (22.00: 4.00 more), re-sends B's second day unchanged,
    // sends a lower figure for B's first day, and a closed trade the deal does not pay on.
    const a1Fixed = volume(accA, day1, { EURUSD: '2', XAUUSD: '1.5' });
    const b2Again = volume(accB, day2, { EURUSD: '1.25' });
    const b1Lower = volume(accB, day1, { XAUUSD: '0.25' });
    const trade = {
      id: uniqueId('trade'),
      type: 'trade.closed',
      occurredAt: iso(minute++ * 60_000),
      customerId,
      data: { tradeId: uniqueId('t'), accountId: accA, instrument: 'EURUSD', lots: '10' },
    };
    for (const e of [a1Fixed, b2Again, b1Lower, trade]) await send(e);
    const fixed = await settled(a1Fixed.id);
    const again = await settled(b2Again.id);
    const lower = await settled(b1Lower.id);
    const closed = await settled(trade.id);

    const list = (await api('GET', `/v1/affiliates/${affiliateId}/commissions`)).body.data as {
      eventId: string;
      rule: string;
      model: string;
      amount: string;
      currency: string;
      status: string;
    }[];
    const byEvent = Object.fromEntries(list.map((c) => [c.eventId, `${c.amount} ${c.currency}`]));
    assert.deepEqual(byEvent, {
      [a1.id]: '18.00 USD',
      [a2.id]: '15.00 USD',
      [b1.id]: '4.00 USD',
      [b2.id]: '6.25 USD',
      [a1Fixed.id]: '4.00 USD',
    });
    assert.ok(list.every((c) => c.rule === 'lot' && c.model === 'lot' && c.status === 'pending'));

    const balance = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
    assert.equal(balance.status, 200);
    assert.deepEqual(
      balance.body.balances.map((b: Record<string, string>) => [b.currency, b.pending, b.approved]),
      [['USD', '47.25', '0.00']],
    );

    const why = (e: Record<string, any>) => e.evaluation.map((x: any) => [x.outcome, x.reason]);
    assert.deepEqual(why(fixed), [['earned', 'accrued']]);
    assert.match(fixed.evaluation[0].detail, /4\.00 USD earned: a correction .* paid 18\.00 USD before/);
    assert.deepEqual(why(again), [['not_earned', 'already_paid']]);
    assert.deepEqual(why(lower), [['not_earned', 'already_paid']]);
    assert.match(lower.evaluation[0].detail, /not above the 4\.00 USD the day was already paid/);
    assert.deepEqual(why(closed), [['not_applicable', 'other_lot_source']]);
  });

  it('a lot deal without lotSource pays closed trades and explains a day of volume as not paying', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('trader');
    const put = await api('PUT', `/v1/affiliates/${affiliateId}`, {
      name: affiliateId,
      deal: {
        model: 'lot',
        amountPerLot: '5.00',
        currency: 'USD',
        holdPeriod: '1h',
        clawbackWindow: '1d',
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    await send({
      id: uniqueId('reg'),
      type: 'customer.registered',
      occurredAt: iso(-60_000),
      customerId,
      attribution: { affiliateId },
      data: { country: 'CY' },
    });
    const day = {
      id: uniqueId('vol'),
      type: 'trading.volume_daily',
      occurredAt: iso(),
      customerId,
      data: { accountId: 'mt5-1', date: '2026-12-03', lots: { EURUSD: '4' } },
    };
    const trade = {
      id: uniqueId('trade'),
      type: 'trade.closed',
      occurredAt: iso(),
      customerId,
      data: { tradeId: uniqueId('t'), accountId: 'mt5-1', instrument: 'EURUSD', lots: '2' },
    };
    await send(day);
    await send(trade);
    const [d] = await Promise.all([settled(day.id), settled(trade.id)]);
    assert.deepEqual(
      d.evaluation.map((x: any) => [x.outcome, x.reason]),
      [['not_applicable', 'other_lot_source']],
    );
    const list = (await api('GET', `/v1/affiliates/${affiliateId}/commissions`)).body.data;
    assert.deepEqual(
      list.map((c: Record<string, string>) => [c.eventId, c.amount]),
      [[trade.id, '10.00']],
    );
  });

  it('refuses a bad lotSource and a malformed day with 422, naming the path', async () => {
    const bad = await api('PUT', `/v1/affiliates/${uniqueId('aff')}`, {
      name: 'x',
      deal: {
        model: 'lot',
        lotSource: 'weekly',
        amountPerLot: '5.00',
        currency: 'USD',
        holdPeriod: '1h',
        clawbackWindow: '1d',
      },
    });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.error.details.some((d: { path: string }) => d.path === 'deal.lotSource'));
    const day = await api('POST', '/v1/events', {
      id: uniqueId('vol'),
      type: 'trading.volume_daily',
      occurredAt: iso(),
      customerId: uniqueId('trader'),
      data: { accountId: 'mt5-1', date: '2026-12-03', lots: { EURUSD: '0' } },
    });
    assert.equal(day.status, 422, JSON.stringify(day.body));
    assert.ok(day.body.error.details.some((d: { path: string }) => d.path === 'data.lots.EURUSD'));
  });
});
