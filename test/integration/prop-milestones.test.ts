import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { assertDocumentedWebhook } from '../support/documented.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Prop milestones through the REST API, on the real Temporal dev server and PostgreSQL: a challenge deal
 * that pays on the purchase, on phase 1 and on funding books three commissions; a phase pass sent again
 * pays once; a refund inside the clawback window reverses all three; a phase pass that arrives before its
 * purchase is paid when the purchase arrives. Event times are "now".
 */

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

async function api(method: string, path: string, json?: unknown) {
  return sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
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
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function commissions(affiliateId: string) {
  const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions?limit=100`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as Record<string, any>[];
}

/** Waits until `count` of the customer's own events are settled (not the notifications they caused). */
async function settled(customerId: string, count: number) {
  await eventually(`${count} settled events of ${customerId}`, async () => {
    const { rows } = await sys.pool.query(
      `SELECT count(*)::int AS n FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_at IS NOT NULL AND type NOT LIKE 'commission.%'`,
      [op.id, customerId],
    );
    return rows[0].n === count;
  });
}

const deal = {
  model: 'challenge',
  percent: '10',
  milestones: [
    { on: 'phase_passed', phase: 1, percent: '5' },
    { on: 'funded', amount: '100.00', currency: 'USD' },
  ],
  holdPeriod: '1h',
  clawbackWindow: '30d',
};

async function setUp() {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('trader');
  const put = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: 'Prop partner', deal });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  assert.deepEqual(put.body.deal.milestones, deal.milestones);
  await send({
    id: uniqueId('reg'),
    type: 'customer.registered',
    occurredAt: iso(-60_000),
    customerId,
    attribution: { affiliateId },
    data: { country: 'DE' },
  });
  return { affiliateId, customerId };
}

const purchased = (customerId: string, challengeId: string, offsetMs = 0) => ({
  id: uniqueId('buy'),
  type: 'challenge.purchased',
  occurredAt: iso(offsetMs),
  customerId,
  data: { challengeId, planId: '100k-2step', price: '499.00', currency: 'USD' },
});
const phasePassed = (customerId: string, challengeId: string, phase: number) => ({
  id: uniqueId('pass'),
  type: 'challenge.phase_passed',
  occurredAt: iso(),
  customerId,
  data: { challengeId, phase },
});
const fundedAccount = (customerId: string, challengeId: string) => ({
  id: uniqueId('funded'),
  type: 'funded_account.activated',
  occurredAt: iso(),
  customerId,
  data: { challengeId, accountId: uniqueId('f') },
});

const summary = (list: Record<string, any>[]) =>
  list.map((c) => `${c.rule} ${c.amount} ${c.currency} ${c.status}`).sort();

describe('prop milestones: a challenge deal pays on phase passes and funding', () => {
  it('purchase, phase 1 passed (twice), funded: three commissions once each; a refund reverses all three', async () => {
    const { affiliateId, customerId } = await setUp();
    const ep = await api('POST', '/v1/endpoints', {
      url: rx.url(`/milestones/${affiliateId}`),
      eventTypes: ['commission.accrued'],
      affiliateId,
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    await send(purchased(customerId, 'ch-1', -1000));
    const pass = phasePassed(customerId, 'ch-1', 1);
    await send(pass);
    await send({ ...pass, id: uniqueId('pass-resent') }); // the operator sends the pass again
    await send(fundedAccount(customerId, 'ch-1'));
    await settled(customerId, 5);

    const list = await commissions(affiliateId);
    assert.deepEqual(summary(list), [
      'challenge 49.90 USD pending',
      'milestone 100.00 USD pending',
      'milestone 24.95 USD pending',
    ]);
    assert.equal(list.find((c) => c.amount === '24.95')!.eventId, pass.id);
    const balance = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
    assert.deepEqual(balance.body.balances, [
      { currency: 'USD', pending: '174.85', approved: '0.00', reversed: '0.00', payable: '0.00' },
    ]);

    // Why the re-sent pass paid nothing, and why the first did.
    const explained = await api('GET', `/v1/events/${pass.id}`);
    const why = explained.body.evaluation.find((e: { rule: string }) => e.rule === 'milestone');
    assert.equal(why.outcome, 'earned');
    assert.match(why.detail, /phase 1 of challenge ch-1/);

    // Each accrual is announced, the milestone's under its own rule.
    const got = await rx.waitFor(`/milestones/${affiliateId}`, 3);
    const wh = new Webhook((ep.body as { secret: string }).secret);
    const bodies = got.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as any);
    for (const body of bodies) assertDocumentedWebhook(body);
    assert.deepEqual(bodies.map((b) => `${b.data.details.rule} ${b.data.details.amount}`).sort(), [
      'challenge 49.90',
      'milestone 100.00',
      'milestone 24.95',
    ]);

    await send({
      id: uniqueId('refund'),
      type: 'challenge.refunded',
      occurredAt: iso(),
      customerId,
      data: { challengeId: 'ch-1', amount: '499.00', currency: 'USD' },
    });
    const undone = await eventually('every commission of ch-1 rejected', async () => {
      const l = await commissions(affiliateId);
      return l.length === 3 && l.every((c) => c.status === 'rejected') ? l : null;
    });
    assert.ok(undone.every((c) => c.reason === 'challenge_refund'));
    const after = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
    assert.deepEqual(after.body.balances, [
      { currency: 'USD', pending: '0.00', approved: '0.00', reversed: '0.00', payable: '0.00' },
    ]);
  });

  it('approved commissions are reversed by a refund inside the clawback window, milestones too', async () => {
    const { affiliateId, customerId } = await setUp();
    await send(purchased(customerId, 'ch-2', -1000));
    await send(phasePassed(customerId, 'ch-2', 1));
    await send(fundedAccount(customerId, 'ch-2'));
    await settled(customerId, 4);
    const list = await commissions(affiliateId);
    assert.equal(list.length, 3);
    for (const c of list) {
      const res = await api('POST', `/v1/commissions/${c.id}/approve`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    await send({
      id: uniqueId('refund'),
      type: 'challenge.refunded',
      occurredAt: iso(),
      customerId,
      data: { challengeId: 'ch-2', amount: '499.00', currency: 'USD' },
    });
    const all = await eventually('three reversals', async () => {
      const l = await commissions(affiliateId);
      return l.filter((c) => c.reversalOf).length === 3 ? l : null;
    });
    assert.deepEqual(
      all
        .filter((c) => c.reversalOf)
        .map((c) => `${c.rule} ${c.amount}`)
        .sort(),
      ['challenge -49.90', 'milestone -100.00', 'milestone -24.95'],
    );
    const balance = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
    assert.deepEqual(balance.body.balances, [
      { currency: 'USD', pending: '0.00', approved: '174.85', reversed: '-174.85', payable: '0.00' },
    ]);
  });

  it('a phase pass that arrives before its purchase waits, and is paid when the purchase arrives', async () => {
    const { affiliateId, customerId } = await setUp();
    const early = phasePassed(customerId, 'ch-3', 1);
    await send(early);
    await settled(customerId, 2);
    assert.deepEqual(await commissions(affiliateId), []);
    const waiting = await api('GET', `/v1/events/${early.id}`);
    const why = waiting.body.evaluation.find((e: { rule: string }) => e.rule === 'milestone');
    assert.equal(why.outcome, 'pending');
    assert.equal(why.reason, 'awaiting_purchase');

    await send(purchased(customerId, 'ch-3', -30_000)); // bought before it was passed
    await settled(customerId, 3);
    const list = await commissions(affiliateId);
    assert.deepEqual(summary(list), ['challenge 49.90 USD pending', 'milestone 24.95 USD pending']);
    assert.equal(list.find((c) => c.rule === 'milestone')!.eventId, early.id);
  });

  it('a deal with a milestone that pays both ways, or one phase twice, is refused with 422 per problem', async () => {
    const res = await api('PUT', `/v1/affiliates/${uniqueId('aff')}`, {
      name: 'x',
      deal: {
        ...deal,
        milestones: [
          { on: 'phase_passed', phase: 1, percent: '5', amount: '10.00', currency: 'USD' },
          { on: 'funded', percent: '5' },
          { on: 'funded', percent: '6' },
        ],
      },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.error.details.map((d: { path: string }) => d.path),
      ['deal.milestones.0', 'deal.milestones.2'],
    );
    const twice = await api('PUT', `/v1/affiliates/${uniqueId('aff')}`, {
      name: 'x',
      deal: {
        ...deal,
        milestones: [
          { on: 'funded', percent: '5' },
          { on: 'funded', percent: '6' },
        ],
      },
    });
    assert.equal(twice.status, 422, JSON.stringify(twice.body));
    assert.deepEqual(
      twice.body.error.details.map((d: { path: string }) => d.path),
      ['deal.milestones.1'],
    );
  });
});
