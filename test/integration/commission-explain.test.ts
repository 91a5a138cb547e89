import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Why an event earned what it did (issue 14, item 1b), through the REST API on the real Temporal dev
 * server and PostgreSQL: `GET /v1/events/{id}` answers, per rule of the attributed affiliate's deal,
 * earned or not and why, as the settlement that folded the event judged it.
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

async function putAffiliate(affiliateId: string, deal: Record<string, unknown>, status = 'active') {
  const res = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: affiliateId, status, deal });
  assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
}

async function send(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The event as GET shows it, once `ready` holds for it. */
async function eventWhen(
  eventId: string,
  ready: (body: Record<string, any>) => boolean,
): Promise<Record<string, any>> {
  let last: unknown;
  try {
    return await eventually(`event ${eventId}`, async () => {
      const res = await api('GET', `/v1/events/${eventId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      last = res.body;
      return ready(res.body) ? (res.body as Record<string, any>) : null;
    });
  } catch (err) {
    throw new Error(`${String(err)}; last seen: ${JSON.stringify(last)}`);
  }
}

const settled = (id: string) => eventWhen(id, (b) => b.settlement?.status === 'settled');

function reg(customerId: string, affiliateId: string) {
  return {
    id: uniqueId('reg'),
    type: 'customer.registered',
    occurredAt: iso(-60_000),
    customerId,
    attribution: { affiliateId },
    data: { country: 'DE' },
  };
}

function dep(customerId: string, amount: string, currency: string, extra: Record<string, unknown> = {}) {
  return {
    id: uniqueId('dep-evt'),
    type: 'deposit.completed',
    occurredAt: iso(),
    customerId,
    data: { depositId: uniqueId('dep'), amount, currency },
    ...extra,
  };
}

/** A USD CPA, as in the README's preset example ("its commission of 100.00 USD"). */
const usdCpa = (qualification: Record<string, unknown> = {}) => ({
  model: 'cpa',
  amount: '100.00',
  currency: 'USD',
  qualification,
  holdPeriod: '1h',
  clawbackWindow: '90d',
});

function people() {
  return { affiliateId: uniqueId('aff'), customerId: uniqueId('player') };
}

describe("an event's evaluation", () => {
  it("the README's example done literally without an exchange rate: an EUR first deposit under a USD CPA waits (fx_rate_missing)", async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, usdCpa());
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00', 'EUR');
    await send(d);
    const got = await settled(d.id);
    assert.deepEqual(got.derived, { ftd: true });
    assert.deepEqual(got.commissions, []);
    assert.equal(got.evaluation?.length, 1, JSON.stringify(got));
    const [e] = got.evaluation;
    assert.deepEqual(
      {
        affiliateId: e.affiliateId,
        dealModel: e.dealModel,
        rule: e.rule,
        outcome: e.outcome,
        reason: e.reason,
      },
      {
        affiliateId,
        dealModel: 'cpa',
        rule: 'cpa',
        outcome: 'pending',
        reason: 'fx_rate_missing',
      },
    );
    assert.match(e.detail, /50\.00 EUR/);
    assert.match(e.detail, /USD/);
    // Small: a few hundred bytes, no payload copy.
    const { rows } = await sys.pool.query(
      'SELECT octet_length(evaluation::text) AS n FROM events WHERE operator_id = $1 AND event_id = $2',
      [op.id, d.id],
    );
    assert.ok(rows[0].n > 0 && rows[0].n < 400, `${rows[0].n} bytes`);
  });

  it('a suspended affiliate: the qualifying deposit explains affiliate_suspended', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, usdCpa(), 'suspended');
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00', 'USD');
    await send(d);
    const got = await settled(d.id);
    assert.deepEqual(got.commissions, []);
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['not_earned', 'affiliate_suspended']],
    );
    assert.match(got.evaluation[0].detail, /100\.00 USD/);
  });

  it('a qualifying deposit explains earned, next to its commission', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, usdCpa({ minFirstDeposit: '20.00' }));
    const r = reg(customerId, affiliateId);
    await send(r);
    const d = dep(customerId, '50.00', 'USD');
    await send(d);
    const got = await eventWhen(
      d.id,
      (b) => b.settlement?.status === 'settled' && b.commissions.length === 1,
    );
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.rule, e.outcome, e.reason]),
      [['cpa', 'earned', 'qualified']],
    );
    assert.match(got.evaluation[0].detail, /100\.00 USD earned/);
    // The registration, settled before any deposit: no deposit yet.
    const registration = await settled(r.id);
    assert.deepEqual(
      registration.evaluation.map((e: any) => [e.outcome, e.reason]),
      [['not_earned', 'no_deposit']],
    );
  });

  it('a deposit below minFirstDeposit explains below_min_first_deposit with both figures', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, usdCpa({ minFirstDeposit: '20.00' }));
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '10.00', 'USD');
    await send(d);
    const got = await settled(d.id);
    assert.deepEqual(got.commissions, []);
    const [e] = got.evaluation;
    assert.equal(e.outcome, 'not_earned');
    assert.equal(e.reason, 'below_min_first_deposit');
    assert.match(e.detail, /10\.00 USD.*20\.00 USD/);
  });

  it('an event of an unattributed customer explains unattributed while it waits', async () => {
    const { customerId } = people();
    const d = dep(customerId, '50.00', 'USD');
    await send(d);
    const got = await eventWhen(d.id, (b) => b.status === 'processed');
    assert.equal(got.settlement.status, 'waiting');
    assert.deepEqual(got.evaluation, [
      {
        affiliateId: null,
        dealModel: null,
        rule: null,
        outcome: 'pending_attribution',
        reason: 'unattributed',
        detail: got.evaluation?.[0]?.detail,
      },
    ]);
    const [only] = got.evaluation as { detail: string }[];
    assert.match(only!.detail, /no affiliate/);
  });

  it('an unattributed event settled with an attributed one records unattributed; the attributed one its own answer', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, usdCpa());
    const loose = dep(customerId, '50.00', 'USD', { occurredAt: iso(-5_000) });
    await send(loose);
    await eventWhen(loose.id, (b) => b.status === 'processed');
    const bound = dep(customerId, '30.00', 'USD', { attribution: { affiliateId } });
    await send(bound);
    const got = await settled(loose.id);
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.affiliateId, e.outcome, e.reason]),
      [[null, 'pending_attribution', 'unattributed']],
    );
    const other = await settled(bound.id);
    assert.deepEqual(
      other.evaluation.map((e: any) => [e.affiliateId, e.outcome, e.reason]),
      [[affiliateId, 'not_earned', 'not_registered']],
    );
  });

  it('a registration naming an affiliate that is not set up explains no_deal', async () => {
    const { affiliateId, customerId } = people();
    const r = reg(customerId, affiliateId);
    await send(r);
    const got = await eventWhen(r.id, (b) => b.status === 'processed');
    assert.deepEqual(
      got.evaluation.map((e: any) => [e.affiliateId, e.outcome, e.reason]),
      [[affiliateId, 'pending_attribution', 'no_deal']],
    );
  });

  it('an event the engine does not read has no evaluation', async () => {
    const { customerId } = people();
    const opened = {
      id: uniqueId('acc'),
      type: 'account.opened',
      occurredAt: iso(),
      customerId,
      data: { accountId: uniqueId('acct') },
    };
    await send(opened);
    const got = await eventWhen(opened.id, (b) => b.status === 'processed');
    assert.equal(got.settlement, null);
    assert.equal(got.evaluation, null);
  });
});
