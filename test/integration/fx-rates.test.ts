import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Exchange rates the operator provides (issue 14, item 1a), through the REST API on the real Temporal dev
 * server and PostgreSQL: the README's example done literally (a USD CPA, a first deposit of 50.00 EUR)
 * earns its commission with the operator's EUR -> USD rate, the commission records the rate, and without
 * a rate the commission waits visibly (`fx_rate_missing`) until the rate is set, then is booked once.
 */

let sys: System;

before(async () => {
  sys = await startSystem();
});
after(async () => {
  await sys?.stop();
});

/** A day well in the past (its own rates per operator), and one time of it. */
const DAY = '2026-11-02';
const DAY_BEFORE = '2026-11-01';
const at = (time: string) => `${DAY}T${time}Z`;

type Op = { id: string; apiKey: string };

async function api(op: Op, method: string, path: string, json?: unknown) {
  return sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
}

async function eventually<T>(what: string, fn: () => Promise<T | null | undefined | false>) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The event as GET shows it, once `ready` holds for it. */
async function eventWhen(op: Op, id: string, ready: (b: Record<string, any>) => boolean) {
  let last: unknown;
  try {
    return await eventually(`event ${id}`, async () => {
      const res = await api(op, 'GET', `/v1/events/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      last = res.body;
      return ready(res.body) ? (res.body as Record<string, any>) : null;
    });
  } catch (err) {
    throw new Error(`${String(err)}; last seen: ${JSON.stringify(last)}`);
  }
}

/** The README's preset example: a USD CPA of 100.00 with a minimum first deposit, an EUR first deposit. */
async function readmeExample(op: Op, amount = '50.00') {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('player');
  const deal = {
    model: 'cpa',
    amount: '100.00',
    currency: 'USD',
    qualification: { minFirstDeposit: '50.00' },
    holdPeriod: '30d',
    clawbackWindow: '90d',
  };
  const put = await api(op, 'PUT', `/v1/affiliates/${affiliateId}`, { name: affiliateId, deal });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const send = async (event: Record<string, unknown>) => {
    const res = await api(op, 'POST', '/v1/events', event);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  };
  await send({
    id: uniqueId('reg'),
    type: 'customer.registered',
    occurredAt: at('09:00:00'),
    customerId,
    attribution: { affiliateId },
    data: { country: 'DE' },
  });
  const depositId = uniqueId('dep-evt');
  await send({
    id: depositId,
    type: 'deposit.completed',
    occurredAt: at('10:00:00'),
    customerId,
    data: { depositId: uniqueId('dep'), amount, currency: 'EUR' },
  });
  return { affiliateId, customerId, depositId, send };
}

async function accruals(op: Op, customerId: string): Promise<number> {
  const { rows } = await sys.pool.query(
    `SELECT count(*)::int AS n FROM commission_entries
      WHERE operator_id = $1 AND customer_id = $2 AND kind = 'accrual'`,
    [op.id, customerId],
  );
  return rows[0].n;
}

const eurUsd = (rate: string) => ({ rates: [{ from: 'EUR', to: 'USD', rate }] });

describe('a USD CPA and a first deposit in EUR', () => {
  it("with the operator's rate of the deposit's day: qualifies, and the commission records the rate", async () => {
    const op = await sys.createOperator();
    const set = await api(op, 'PUT', `/v1/fx-rates/${DAY}`, eurUsd('1.0850'));
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.rates, [{ from: 'EUR', to: 'USD', rate: '1.085' }]);

    const { depositId } = await readmeExample(op); // 50.00 EUR = 54.25 USD, at least 50.00 USD
    // GET reads the event and its commissions apart: wait for both of the settlement that booked it.
    const got = await eventWhen(
      op,
      depositId,
      (b) => b.settlement?.status === 'settled' && b.commissions?.length === 1,
    );
    const [commission] = got.commissions;
    assert.equal(commission.amount, '100.00');
    assert.equal(commission.currency, 'USD');
    assert.deepEqual(commission.fx, [{ from: 'EUR', to: 'USD', rate: '1.085', date: DAY }]);
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['earned', 'qualified']],
    );
    assert.match(got.evaluation[0].detail, /converted at 1\.085 EUR\/USD of 2026-11-02/);
    const one = await api(op, 'GET', `/v1/commissions/${commission.id}`);
    assert.deepEqual(one.body.fx, commission.fx);
  });

  it('converted below the minimum: not earned, with the converted figure', async () => {
    const op = await sys.createOperator();
    await api(op, 'PUT', `/v1/fx-rates/${DAY}`, eurUsd('0.95'));
    const { depositId } = await readmeExample(op); // 47.50 USD
    const got = await eventWhen(op, depositId, (b) => b.settlement?.status === 'settled');
    assert.deepEqual(got.commissions, []);
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['not_earned', 'below_min_first_deposit']],
    );
    assert.match(got.evaluation[0].detail, /47\.50 USD at 0\.95 EUR\/USD/);
  });

  it('without a rate: waits as fx_rate_missing; once the rate is set, it is booked exactly once', async () => {
    const op = await sys.createOperator();
    const { customerId, depositId, send, affiliateId } = await readmeExample(op);
    const waiting = await eventWhen(op, depositId, (b) => b.settlement?.status === 'settled');
    assert.deepEqual(waiting.commissions, []);
    assert.deepEqual(
      waiting.evaluation.map((e: any) => [e.affiliateId, e.outcome, e.reason]),
      [[affiliateId, 'pending', 'fx_rate_missing']],
    );
    assert.match(waiting.evaluation[0].detail, /50\.00 EUR on 2026-11-02: no EUR -> USD rate/);
    assert.equal(await accruals(op, customerId), 0);

    // The day before's rate serves within the look-back; setting it wakes the customer's settlement.
    const set = await api(op, 'PUT', `/v1/fx-rates/${DAY_BEFORE}`, eurUsd('1.0850'));
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.customersWoken, 1);
    const paid = await eventWhen(
      op,
      depositId,
      (b) => b.commissions?.length === 1 && b.evaluation?.[0]?.outcome !== 'pending',
    );
    assert.deepEqual(paid.commissions[0].fx, [{ from: 'EUR', to: 'USD', rate: '1.085', date: DAY_BEFORE }]);
    assert.deepEqual(
      paid.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['earned', 'qualified']],
    );

    // Once: the same rates again wake nobody, and the customer's next event settles without a second one.
    const again = await api(op, 'PUT', `/v1/fx-rates/${DAY_BEFORE}`, eurUsd('1.085'));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.customersWoken, 0);
    const kyc = uniqueId('kyc');
    await send({
      id: kyc,
      type: 'customer.kyc_changed',
      occurredAt: at('11:00:00'),
      customerId,
      data: { kycStatus: 'verified' },
    });
    const later = await eventWhen(op, kyc, (b) => b.settlement?.status === 'settled');
    assert.deepEqual(
      later.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['not_earned', 'already_paid']],
    );
    assert.equal(await accruals(op, customerId), 1);

    // The rate the commission used cannot change or go: 409, nothing changed.
    const changed = await api(op, 'PUT', `/v1/fx-rates/${DAY_BEFORE}`, eurUsd('1.2000'));
    assert.equal(changed.status, 409, JSON.stringify(changed.body));
    assert.equal(changed.body.error.code, 'fx_rate_used');
    assert.deepEqual(
      changed.body.error.details.map((d: any) => d.path),
      ['rates.0'],
    );
    const removed = await api(op, 'PUT', `/v1/fx-rates/${DAY_BEFORE}`, { rates: [] });
    assert.equal(removed.status, 409, JSON.stringify(removed.body));
    const kept = await api(op, 'GET', `/v1/fx-rates/${DAY_BEFORE}`);
    assert.deepEqual(kept.body.rates, [{ from: 'EUR', to: 'USD', rate: '1.085' }]);

    // New pairs beside the used one, and unused rates, can be set.
    const added = await api(op, 'PUT', `/v1/fx-rates/${DAY_BEFORE}`, {
      rates: [
        { from: 'EUR', to: 'USD', rate: '1.0850' },
        { from: 'GBP', to: 'USD', rate: '1.27' },
      ],
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const unused = await api(op, 'PUT', `/v1/fx-rates/${DAY}`, eurUsd('1.1'));
    assert.equal(unused.status, 200, JSON.stringify(unused.body));
    const changedUnused = await api(op, 'PUT', `/v1/fx-rates/${DAY}`, eurUsd('1.2'));
    assert.equal(changedUnused.status, 200, JSON.stringify(changedUnused.body));
    assert.equal(await accruals(op, customerId), 1);
  });
});

describe('PUT /v1/fx-rates/{date} with a bad body or date', () => {
  it('answers 422 with the path, and stores nothing', async () => {
    const op = await sys.createOperator();
    const cases: [string, unknown, string][] = [
      ['2026-02-30', eurUsd('1.1'), 'params.date'],
      ['02-11-2026', eurUsd('1.1'), 'params.date'],
      [DAY, eurUsd('0'), 'rates.0.rate'],
      [DAY, eurUsd('-1.1'), 'rates.0.rate'],
      [DAY, eurUsd('1e3'), 'rates.0.rate'],
      [DAY, eurUsd('1234567.1'), 'rates.0.rate'],
      [DAY, eurUsd('1.123456789'), 'rates.0.rate'],
      [DAY, { rates: [{ from: 'EUR', to: 'USD', rate: 1.085 }] }, 'rates.0.rate'],
      [DAY, { rates: [{ from: 'eur', to: 'USD', rate: '1.1' }] }, 'rates.0.from'],
      [DAY, { rates: [{ from: 'EUR', to: 'EUR', rate: '1' }] }, 'rates.0.to'],
      [
        DAY,
        {
          rates: [
            { from: 'EUR', to: 'USD', rate: '1.1' },
            { from: 'EUR', to: 'USD', rate: '1.2' },
          ],
        },
        'rates.1',
      ],
      [DAY, { rates: [{ from: 'EUR', to: 'USD', rate: '1.1', note: 'x' }] }, 'rates.0.note'],
      [DAY, { rate: '1.1' }, 'rates'],
    ];
    for (const [date, body, path] of cases) {
      const res = await api(op, 'PUT', `/v1/fx-rates/${date}`, body);
      assert.equal(res.status, 422, `${date} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        res.body.error.details.some((d: any) => d.path === path),
        `${path} in ${JSON.stringify(res.body.error.details)}`,
      );
    }
    const day = await api(op, 'GET', `/v1/fx-rates/${DAY}`);
    assert.equal(day.status, 200, JSON.stringify(day.body));
    assert.deepEqual(day.body.rates, []);
    const list = await api(op, 'GET', '/v1/fx-rates');
    assert.deepEqual(list.body, { data: [], nextCursor: null });
    const { rows } = await sys.pool.query('SELECT count(*)::int AS n FROM fx_rates WHERE operator_id = $1', [
      op.id,
    ]);
    assert.equal(rows[0].n, 0);
  });

  it('lists the days with rates, newest first, a page at a time', async () => {
    const op = await sys.createOperator();
    for (const date of ['2026-10-30', '2026-10-31', DAY_BEFORE])
      assert.equal((await api(op, 'PUT', `/v1/fx-rates/${date}`, eurUsd('1.1'))).status, 200);
    const first = await api(op, 'GET', '/v1/fx-rates?limit=2');
    assert.deepEqual(
      first.body.data.map((d: any) => d.date),
      [DAY_BEFORE, '2026-10-31'],
    );
    const next = await api(op, 'GET', `/v1/fx-rates?limit=2&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      next.body.data.map((d: any) => [d.date, d.rates]),
      [['2026-10-30', [{ from: 'EUR', to: 'USD', rate: '1.1' }]]],
    );
    assert.equal(next.body.nextCursor, null);
  });
});
