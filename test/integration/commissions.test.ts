import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { customerWorkflowId } from '../../src/domain/ids.js';
import { assertDocumentedWebhook } from '../support/documented.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The commission engine through the REST API, on the real Temporal dev server and PostgreSQL: each deal
 * model, hold timers, decisions by hand, compensation in every state, and events out of order. Event
 * times are "now" so that hold periods of a few seconds run on the wall clock.
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

async function putAffiliate(affiliateId: string, deal: Record<string, unknown>, status = 'active') {
  const res = await api('PUT', `/v1/affiliates/${affiliateId}`, {
    name: `Affiliate ${affiliateId}`,
    status,
    deal,
  });
  assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
  return res.body;
}

async function send(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

async function commissions(affiliateId: string, status?: string) {
  const res = await api(
    'GET',
    `/v1/affiliates/${affiliateId}/commissions${status ? `?status=${status}` : ''}`,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as Record<string, any>[];
}

async function balance(affiliateId: string) {
  const res = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
  assert.equal(res.status, 200);
  return res.body.balances as {
    currency: string;
    pending: string;
    approved: string;
    reversed: string;
    payable: string;
  }[];
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the affiliate's commissions match, by status, what the test expects. */
async function commissionsWith(
  affiliateId: string,
  check: (list: Record<string, any>[]) => boolean,
  timeoutMs?: number,
) {
  return eventually(
    `commissions of ${affiliateId}`,
    async () => {
      const list = await commissions(affiliateId);
      return check(list) ? list : null;
    },
    timeoutMs,
  );
}

/** Waits until the engine has settled `count` events of the customer (of one type, if given). */
async function settled(customerId: string, count: number, type?: string) {
  await eventually(`${count} settled events of ${customerId}`, async () => {
    const { rows } = await sys.pool.query(
      `SELECT count(*)::int AS n FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_at IS NOT NULL AND ($3::text IS NULL OR type = $3)`,
      [op.id, customerId, type ?? null],
    );
    return rows[0].n === count;
  });
}

function people() {
  return { affiliateId: uniqueId('aff'), customerId: uniqueId('player') };
}

function reg(
  customerId: string,
  affiliateId: string,
  at = iso(-60_000),
  extra: Record<string, unknown> = {},
) {
  return {
    id: uniqueId('reg'),
    type: 'customer.registered',
    occurredAt: at,
    customerId,
    attribution: { affiliateId, clickId: `click-${customerId}`, subIds: { sub1: 'fb' } },
    data: { country: 'DE' },
    ...extra,
  };
}

function dep(customerId: string, amount: string, at = iso(), depositId = uniqueId('dep')) {
  return {
    id: uniqueId('dep-evt'),
    type: 'deposit.completed',
    occurredAt: at,
    customerId,
    data: { depositId, amount, currency: 'EUR' },
  };
}

function chargeback(customerId: string, depositId: string, at = iso()) {
  return {
    id: uniqueId('cb'),
    type: 'deposit.chargeback',
    occurredAt: at,
    customerId,
    data: { depositId, amount: '50.00', currency: 'EUR', reason: 'fraudulent' },
  };
}

const cpa = (overrides: Record<string, unknown> = {}) => ({
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '20.00' },
  holdPeriod: '1h',
  clawbackWindow: '90d',
  ...overrides,
});

async function subscribe(path: string, affiliateId: string, eventTypes = ['commission.*'], extra = {}) {
  const res = await api('POST', '/v1/endpoints', { url: rx.url(path), eventTypes, affiliateId, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

describe('affiliates and deals', () => {
  it('PUT creates (201) then replaces (200); GET returns it; another operator gets 404', async () => {
    const { affiliateId } = people();
    const created = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: 'A', deal: cpa() });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'active');
    const replaced = await api('PUT', `/v1/affiliates/${affiliateId}`, {
      name: 'B',
      status: 'suspended',
      deal: { model: 'revshare', percent: '25', holdPeriod: '7d', clawbackWindow: '30d' },
    });
    assert.equal(replaced.status, 200);
    const got = await api('GET', `/v1/affiliates/${affiliateId}`);
    assert.equal(got.body.name, 'B');
    assert.equal(got.body.deal.model, 'revshare');
    assert.equal(got.body.deal.negativeCarryover, false);
    const other = await sys.createOperator();
    const foreign = await sys.request('GET', `/v1/affiliates/${affiliateId}`, { apiKey: other.apiKey });
    assert.equal(foreign.status, 404);
  });

  it('refuses bad deals with 422 and the path of each problem, and stores nothing', async () => {
    const { affiliateId } = people();
    const cases: [Record<string, unknown>, string][] = [
      [cpa({ amount: 100 }), 'deal.amount'],
      [cpa({ amount: '-5.00' }), 'deal.amount'],
      [cpa({ amount: 'abc' }), 'deal.amount'],
      [{ model: 'revshare', percent: 'abc', holdPeriod: '1d', clawbackWindow: '1d' }, 'deal.percent'],
      [cpa({ holdPeriod: 'soon' }), 'deal.holdPeriod'],
      [cpa({ holdPeriod: '30d', clawbackWindow: '7d' }), 'deal.clawbackWindow'],
      [{ model: 'revshare', percent: '120', holdPeriod: '1d', clawbackWindow: '1d' }, 'deal.percent'],
      [{ model: 'lot', currency: 'EUR', holdPeriod: '1d', clawbackWindow: '1d' }, 'deal.amountPerLot'],
      [{ model: 'challenge', holdPeriod: '1d', clawbackWindow: '1d' }, 'deal'],
      [{ model: 'barter', holdPeriod: '1d', clawbackWindow: '1d' }, 'deal.model'],
      [cpa({ surprise: true }), 'deal'],
    ];
    for (const [deal, path] of cases) {
      const res = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: 'x', deal });
      assert.equal(res.status, 422, `${JSON.stringify(deal)} -> ${res.status}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path.startsWith(path)),
        `${path} in ${JSON.stringify(res.body.error.details)}`,
      );
      // One message per path: the first problem there, not every check that follows from it.
      const paths = res.body.error.details.map((d: { path: string }) => d.path);
      assert.deepEqual(paths, [...new Set(paths)], JSON.stringify(res.body.error.details));
    }
    assert.equal((await api('GET', `/v1/affiliates/${affiliateId}`)).status, 404);
  });
});

describe('cpa: accrual, hold, approval', () => {
  it('a qualifying FTD accrues once, is held, then approved by the timer; both notified and signed', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa({ holdPeriod: '3s', clawbackWindow: '1h' }));
    const ep = await subscribe(`/cpa/${affiliateId}`, affiliateId);
    await send(reg(customerId, affiliateId));
    const first = dep(customerId, '50.00');
    await send(first);
    await send(dep(customerId, '70.00')); // a second deposit pays no second CPA

    const [pending] = await commissionsWith(affiliateId, (l) => l.length === 1);
    assert.equal(pending!.status, 'pending');
    assert.equal(pending!.amount, '100.00');
    assert.equal(pending!.currency, 'EUR');
    assert.equal(pending!.eventId, first.id);
    assert.equal(pending!.customerId, customerId);
    assert.match(pending!.id, /^com_/);

    const [approved] = await commissionsWith(affiliateId, (l) => l[0]?.status === 'approved', 15_000);
    assert.equal(approved!.id, pending!.id);
    assert.deepEqual(await balance(affiliateId), [
      { currency: 'EUR', pending: '0.00', approved: '100.00', reversed: '0.00', payable: '100.00' },
    ]);

    const got = await rx.waitFor(`/cpa/${affiliateId}`, 2);
    const wh = new Webhook(ep.secret);
    const bodies = got.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as any);
    assert.deepEqual(
      bodies.map((b) => [b.type, b.data.details.status]),
      [
        ['commission.accrued', 'pending'],
        ['commission.approved', 'approved'],
      ],
    );
    // The envelope of every webhook; the commission is its details, attributed like the customer.
    for (const body of bodies) assertDocumentedWebhook(body);
    assert.equal(bodies[0].data.customerId, customerId);
    assert.equal(bodies[0].data.attribution.affiliateId, affiliateId);
    assert.equal(bodies[0].data.details.commissionId, pending!.id);
    assert.equal(bodies[0].data.details.conversionEventId, first.id);
    assert.equal(bodies[0].data.details.amount, '100.00');

    // The event shows the commission it caused.
    const ev = await api('GET', `/v1/events/${first.id}`);
    assert.deepEqual(
      ev.body.commissions.map((c: { id: string }) => c.id),
      [pending!.id],
    );
  });

  it('events settled during a hold keep its one timer: started once, never cancelled, saying what it waits for', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa({ holdPeriod: '4s', clawbackWindow: '1h' }));
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    await commissionsWith(affiliateId, (l) => l[0]?.status === 'pending');
    // Two more deposits while the commission is held: each is a signal and a settlement.
    await send(dep(customerId, '20.00'));
    await settled(customerId, 3);
    await send(dep(customerId, '30.00'));
    await settled(customerId, 4);
    const handle = sys.client.workflow.getHandle(customerWorkflowId(op.id, customerId));
    const held = (await commissions(affiliateId)).map((c) => ({
      commissionId: c.id,
      holdUntil: c.holdUntil,
    }));
    assert.deepEqual(await handle.query('commissionHolds'), held);
    await commissionsWith(affiliateId, (l) => l[0]?.status === 'approved', 15_000);
    await handle.result();
    const events = (await handle.fetchHistory()).events!;
    const timers = {
      started: events.filter((e) => e.timerStartedEventAttributes).length,
      fired: events.filter((e) => e.timerFiredEventAttributes).length,
      cancelled: events.filter((e) => e.timerCanceledEventAttributes).length,
      signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length,
    };
    assert.deepEqual(timers, { started: 1, fired: 1, cancelled: 0, signals: timers.signals });
    assert.ok(timers.signals >= 2, 'the two deposits during the hold arrived as signals');
    // The Web UI shows the timer's summary: which hold it waits for, and what its end does.
    const timer = events.find((e) => e.timerStartedEventAttributes)!;
    assert.ok(timer.userMetadata?.summary, 'the hold timer has a summary');
    assert.equal(
      defaultPayloadConverter.fromPayload(timer.userMetadata.summary),
      `hold of ${held[0]!.commissionId} ends ${held[0]!.holdUntil}: approve the commissions of customer ` +
        `${customerId} whose hold has ended`,
    );
  });

  it('a first deposit below minFirstDeposit accrues nothing, whatever comes after', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '10.00', iso(-1000)));
    await send(dep(customerId, '500.00'));
    // Give the engine time to settle both; the first deposit (10.00) decides minFirstDeposit.
    await settled(customerId, 3);
    assert.deepEqual(await commissions(affiliateId), []);
  });

  it('approve by hand before the hold ends; approving again is the same; rejecting after is 409', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    const [c] = await commissionsWith(affiliateId, (l) => l.length === 1);
    const ok = await api('POST', `/v1/commissions/${c!.id}/approve`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.status, 'approved');
    const again = await api('POST', `/v1/commissions/${c!.id}/approve`);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'approved');
    const late = await api('POST', `/v1/commissions/${c!.id}/reject`, { reason: 'too late' });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'commission_not_pending');
    const entries = await sys.pool.query(
      `SELECT kind FROM commission_entries WHERE affiliate_id = $1 ORDER BY seq`,
      [affiliateId],
    );
    assert.deepEqual(
      entries.rows.map((r) => r.kind),
      ['accrual', 'approval'],
    );
  });

  it('reject by hand needs a reason; then it is rejected, rejecting again is 200 with the first reason, the timer approves nothing, and approve is 409', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa({ holdPeriod: '3s', clawbackWindow: '1h' }));
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    const [c] = await commissionsWith(affiliateId, (l) => l.length === 1);
    const noReason = await api('POST', `/v1/commissions/${c!.id}/reject`, {});
    assert.equal(noReason.status, 422);
    const res = await api('POST', `/v1/commissions/${c!.id}/reject`, { reason: 'duplicate player' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'rejected');
    assert.equal(res.body.reason, 'duplicate player');
    // The same decision again, whatever its words: the commission is rejected, as asked (README, Commissions).
    const again = await api('POST', `/v1/commissions/${c!.id}/reject`, { reason: 'another reason' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.status, 'rejected');
    assert.equal(again.body.reason, 'duplicate player');
    await new Promise((r) => setTimeout(r, 4000)); // past the hold
    assert.equal((await commissions(affiliateId))[0]!.status, 'rejected');
    assert.equal((await api('POST', `/v1/commissions/${c!.id}/approve`)).status, 409);
    assert.equal((await api('POST', '/v1/commissions/com_doesnotexist/approve')).status, 404);
  });
});

describe('compensation', () => {
  it('a chargeback while pending rejects it; a second chargeback of the same deposit changes nothing', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await subscribe(`/cb-pending/${affiliateId}`, affiliateId, ['commission.rejected']);
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    await commissionsWith(affiliateId, (l) => l.length === 1);
    const cb = chargeback(customerId, d.data.depositId);
    await send(cb);
    const [rejected] = await commissionsWith(affiliateId, (l) => l[0]?.status === 'rejected');
    assert.equal(rejected!.reason, 'chargeback');
    await send(chargeback(customerId, d.data.depositId));
    await rx.waitFor(`/cb-pending/${affiliateId}`, 1);
    await settled(customerId, 2, 'deposit.chargeback');
    const { rows } = await sys.pool.query(
      `SELECT kind FROM commission_entries WHERE affiliate_id = $1 ORDER BY seq`,
      [affiliateId],
    );
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['accrual', 'rejection'],
    );
    assert.deepEqual(await balance(affiliateId), [
      { currency: 'EUR', pending: '0.00', approved: '0.00', reversed: '0.00', payable: '0.00' },
    ]);
    const ev = await api('GET', `/v1/events/${cb.id}`);
    assert.equal(ev.body.commissions[0].id, rejected!.id);
    assert.equal(rx.requests(`/cb-pending/${affiliateId}`).length, 1);
  });

  it('a chargeback after approval, inside the clawback window, reverses it with a linked negative entry', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    const [c] = await commissionsWith(affiliateId, (l) => l.length === 1);
    assert.equal((await api('POST', `/v1/commissions/${c!.id}/approve`)).status, 200);
    await send(chargeback(customerId, d.data.depositId));
    const list = await commissionsWith(affiliateId, (l) => l.length === 2);
    const reversal = list.find((x) => x.reversalOf)!;
    const original = list.find((x) => !x.reversalOf)!;
    assert.equal(reversal.reversalOf, c!.id);
    assert.equal(reversal.amount, '-100.00');
    assert.equal(reversal.status, 'reversed');
    assert.equal(original.status, 'reversed');
    assert.deepEqual(await balance(affiliateId), [
      { currency: 'EUR', pending: '0.00', approved: '100.00', reversed: '-100.00', payable: '0.00' },
    ]);
    // A second chargeback of that deposit reverses nothing more.
    await send(chargeback(customerId, d.data.depositId));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await commissions(affiliateId)).length, 2);
  });

  it('a chargeback after the clawback window flags the commission for review and moves no money', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa({ holdPeriod: '1s', clawbackWindow: '2s' }));
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    await commissionsWith(affiliateId, (l) => l[0]?.status === 'approved', 15_000);
    await new Promise((r) => setTimeout(r, 2500));
    await send(chargeback(customerId, d.data.depositId));
    const [flagged] = await commissionsWith(affiliateId, (l) => l[0]?.reviews === 1);
    assert.equal(flagged!.status, 'approved');
    assert.deepEqual(await balance(affiliateId), [
      { currency: 'EUR', pending: '0.00', approved: '100.00', reversed: '0.00', payable: '100.00' },
    ]);
  });

  it('high-severity fraud rejects a pending commission with its own reason', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    await commissionsWith(affiliateId, (l) => l.length === 1);
    await send({
      id: uniqueId('fraud'),
      type: 'customer.fraud_flagged',
      occurredAt: iso(),
      customerId,
      data: { flag: 'bonus_abuse', severity: 'high' },
    });
    const [c] = await commissionsWith(affiliateId, (l) => l[0]?.status === 'rejected');
    assert.equal(c!.reason, 'fraud_high');
  });

  it('a reversal overtaking an undelivered conversion cancels it and is not sent to that endpoint', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    // The tracker is down for the conversion, with a long wait before its retry.
    rx.script(`/slow/${affiliateId}`, [{ status: 503 }]);
    const slow = await subscribe(
      `/slow/${affiliateId}`,
      affiliateId,
      ['deposit.ftd', 'commission.rejected'],
      {
        retryPolicy: { schedule: ['1h'] },
      },
    );
    const fine = await subscribe(`/fine/${affiliateId}`, affiliateId, ['deposit.ftd', 'commission.rejected']);
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    await rx.waitFor(`/slow/${affiliateId}`, 1);
    await rx.waitFor(`/fine/${affiliateId}`, 1);
    await commissionsWith(affiliateId, (l) => l.length === 1);
    await send(chargeback(customerId, d.data.depositId));
    await rx.waitFor(`/fine/${affiliateId}`, 2);

    const ftd = await eventually('the conversion cancelled', async () => {
      const res = await api('GET', `/v1/deliveries?eventId=${d.id}&endpointId=${slow.id}`);
      const x = res.body.data.find((y: { eventType: string }) => y.eventType === 'deposit.ftd');
      return x?.status === 'cancelled' ? x : null;
    });
    assert.match(ftd.lastError, /rejected before this conversion was delivered/);
    const rejections = await api('GET', `/v1/deliveries?eventType=commission.rejected&endpointId=${slow.id}`);
    assert.deepEqual(rejections.body.data, []);
    assert.equal(rx.requests(`/slow/${affiliateId}`).length, 1);
    const fineTypes = rx.requests(`/fine/${affiliateId}`).map((r) => JSON.parse(r.body).type);
    assert.deepEqual(fineTypes, ['deposit.ftd', 'commission.rejected']);
    assert.equal(fine.id.startsWith('ep_'), true);
  });
});

describe('a reversal after a conversion that failed for good', () => {
  it('sends no reversal there, and the failed conversion can no longer be re-driven', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    const path = `/dead/${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 500 }]);
    const ep = await subscribe(path, affiliateId, ['deposit.ftd', 'commission.rejected'], {
      retryPolicy: { schedule: ['1s'] },
    });
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    const failed = await eventually('the conversion dead-lettered', async () => {
      const res = await api('GET', `/v1/deliveries?eventId=${d.id}&endpointId=${ep.id}`);
      const x = res.body.data.find((y: { eventType: string }) => y.eventType === 'deposit.ftd');
      return x?.status === 'failed' ? x : null;
    });
    await commissionsWith(affiliateId, (l) => l.length === 1);
    await send(chargeback(customerId, d.data.depositId));
    await commissionsWith(affiliateId, (l) => l[0]?.status === 'rejected');

    const rejections = await api('GET', `/v1/deliveries?eventType=commission.rejected&endpointId=${ep.id}`);
    assert.deepEqual(rejections.body.data, []);
    const retry = await api('POST', `/v1/deliveries/${failed.id}/retry`);
    assert.equal(retry.status, 409, JSON.stringify(retry.body));
    assert.equal(retry.body.error.code, 'delivery_replaced');
    const recover = await api('POST', `/v1/endpoints/${ep.id}/recover`, {
      since: iso(-3_600_000),
      dryRun: true,
    });
    assert.equal(recover.status, 202, JSON.stringify(recover.body));
    assert.equal(recover.body.count, 0, 'recovery leaves the undone conversion alone');
    assert.equal(rx.requests(path).length, 2, 'the two failed attempts, nothing after');
  });
});

describe('a reversal racing a conversion on the wire', () => {
  it('a conversion cancelled while its attempt was in flight, and delivered anyway, is followed by the reversal', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    const path = `/racing/${affiliateId}`;
    // The tracker takes 4 s to answer the conversion: the chargeback is settled meanwhile.
    rx.script(path, [{ status: 200, delayMs: 4000 }]);
    const ep = await subscribe(path, affiliateId, ['deposit.ftd', 'commission.rejected']);
    await send(reg(customerId, affiliateId));
    const d = dep(customerId, '50.00');
    await send(d);
    await rx.waitFor(path, 1); // the conversion is on the wire
    await commissionsWith(affiliateId, (l) => l.length === 1);
    await send(chargeback(customerId, d.data.depositId));
    await commissionsWith(affiliateId, (l) => l[0]?.status === 'rejected');

    const got = await rx.waitFor(path, 2, 20_000);
    const wh = new Webhook(ep.secret);
    assert.deepEqual(
      got.map((r) => (wh.verify(r.body, r.headers as Record<string, string>) as any).type),
      ['deposit.ftd', 'commission.rejected'],
    );
    const conversion = await api('GET', `/v1/deliveries?eventId=${d.id}&endpointId=${ep.id}`);
    const ftd = conversion.body.data.find((x: { eventType: string }) => x.eventType === 'deposit.ftd');
    assert.equal(ftd.status, 'succeeded');
    assert.match(ftd.lastError, /the reversal follows/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(rx.requests(path).length, 2, 'the reversal is sent once');
  });
});

describe('order per customer', () => {
  it('a deposit that arrives before the registration is settled with it: the CPA accrues at the deposit', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    const d = dep(customerId, '50.00', iso(-1000)); // no attribution: nothing to settle yet
    await send(d);
    await send(reg(customerId, affiliateId, iso(-60_000)));
    const [c] = await commissionsWith(affiliateId, (l) => l.length === 1);
    assert.equal(c!.eventId, d.id);
  });

  it('registration, deposits and a chargeback sent all at once end in one rejected commission', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    const d = dep(customerId, '50.00', iso(-2000));
    const events = [
      reg(customerId, affiliateId, iso(-60_000)),
      d,
      dep(customerId, '80.00', iso(-1000)),
      chargeback(customerId, d.data.depositId, iso()),
    ];
    await Promise.all(events.map(send));
    const list = await commissionsWith(
      affiliateId,
      (l) => l.length === 1 && l[0]!.status === 'rejected',
      20_000,
    );
    assert.equal(list[0]!.reason, 'chargeback');
    const { rows } = await sys.pool.query(
      `SELECT kind FROM commission_entries WHERE affiliate_id = $1 ORDER BY seq`,
      [affiliateId],
    );
    assert.ok(
      rows.map((r) => r.kind).join() === 'accrual,rejection' || rows.length === 0,
      rows.map((r) => r.kind).join(),
    );
  });

  it('the customer workflow is findable in the Web UI by CommissionStatus and AffiliateId', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa());
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    await commissionsWith(affiliateId, (l) => l.length === 1);
    const found = await eventually('visibility', async () => {
      const ids: string[] = [];
      for await (const wf of sys.client.workflow.list({
        query: `CommissionStatus = 'pending' AND AffiliateId = '${affiliateId}'`,
      }))
        ids.push(wf.workflowId);
      return ids.length ? ids : null;
    });
    assert.deepEqual(found, [customerWorkflowId(op.id, customerId)]);
  });
});

describe('other deal models', () => {
  it('revshare: a percent of each day of NGR, tiered by month-to-date NGR; a negative day pays nothing', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, {
      model: 'revshare',
      percent: '25',
      tiers: [{ fromNgr: '1000.00', percent: '40' }],
      negativeCarryover: true,
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await send(reg(customerId, affiliateId));
    const day = (date: string, ngr: string) => ({
      id: uniqueId('rev'),
      type: 'revenue.daily',
      occurredAt: `${date}T23:59:00Z`,
      customerId,
      data: { date, ggr: ngr, bonuses: '0', fees: '0', ngr, currency: 'EUR' },
    });
    await send(day('2026-11-01', '800.00')); // 25 % of 800 = 200
    await send(day('2026-11-02', '-100.00')); // level 700: nothing
    await send(day('2026-11-03', '600.00')); // peak 1300: 1000 x 25 % + 300 x 40 % = 370, minus 200 paid
    const list = await commissionsWith(affiliateId, (l) => l.length === 2);
    assert.deepEqual(list.map((c) => c.amount).sort(), ['170.00', '200.00']);
    assert.ok(list.every((c) => c.model === 'revshare' && c.rule === 'revshare'));
  });

  it("revshare: a chargeback lowers the period's NGR, so the next day pays only above what was paid", async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, {
      model: 'revshare',
      percent: '25',
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await send(reg(customerId, affiliateId));
    const revenue = (date: string, ngr: string) => ({
      id: uniqueId('rev'),
      type: 'revenue.daily',
      occurredAt: `${date}T23:59:00Z`,
      customerId,
      data: { date, ggr: ngr, bonuses: '0', fees: '0', ngr, currency: 'EUR' },
    });
    await send(revenue('2026-11-01', '800.00'));
    await commissionsWith(affiliateId, (l) => l.length === 1);
    await send({
      ...chargeback(customerId, 'dep-elsewhere', '2026-11-02T12:00:00Z'),
      data: { depositId: 'dep-elsewhere', amount: '100.00', currency: 'EUR', reason: 'x' },
    });
    await send(revenue('2026-11-03', '300.00'));
    const list = await commissionsWith(affiliateId, (l) => l.length === 2);
    assert.deepEqual(list.map((c) => c.amount).sort(), ['200.00', '50.00']);
  });

  it('hybrid: a CPA and a RevShare on the same customer', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, {
      model: 'hybrid',
      cpa: { amount: '50.00', currency: 'EUR', qualification: {} },
      revshare: { percent: '10', negativeCarryover: false },
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '30.00'));
    await send({
      id: uniqueId('rev'),
      type: 'revenue.daily',
      occurredAt: iso(),
      customerId,
      data: {
        date: iso().slice(0, 10),
        ggr: '300.00',
        bonuses: '0',
        fees: '0',
        ngr: '300.00',
        currency: 'EUR',
      },
    });
    const list = await commissionsWith(affiliateId, (l) => l.length === 2);
    assert.deepEqual(list.map((c) => `${c.rule}:${c.amount}`).sort(), ['cpa:50.00', 'revshare:30.00']);
    assert.ok(list.every((c) => c.model === 'hybrid'));
  });

  it('lot: an amount per lot on closed trades, with a per-instrument override', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, {
      model: 'lot',
      amountPerLot: '5.00',
      currency: 'USD',
      instruments: { XAUUSD: '8.00' },
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await send(reg(customerId, affiliateId));
    const trade = (instrument: string, lots: string) => ({
      id: uniqueId('trade'),
      type: 'trade.closed',
      occurredAt: iso(),
      customerId,
      data: { tradeId: uniqueId('t'), accountId: 'acc-1', instrument, lots },
    });
    await send(trade('EURUSD', '2.5'));
    await send(trade('XAUUSD', '0.75'));
    const list = await commissionsWith(affiliateId, (l) => l.length === 2);
    assert.deepEqual(list.map((c) => `${c.currency}:${c.amount}`).sort(), ['USD:12.50', 'USD:6.00']);
  });

  it('challenge: a percent of the price; a refund rejects it', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, {
      model: 'challenge',
      percent: '15',
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await send(reg(customerId, affiliateId));
    await send({
      id: uniqueId('buy'),
      type: 'challenge.purchased',
      occurredAt: iso(),
      customerId,
      data: { challengeId: 'ch-1', planId: '100k', price: '549.00', currency: 'USD' },
    });
    const [c] = await commissionsWith(affiliateId, (l) => l.length === 1);
    assert.equal(c!.amount, '82.35');
    await send({
      id: uniqueId('refund'),
      type: 'challenge.refunded',
      occurredAt: iso(),
      customerId,
      data: { challengeId: 'ch-1', amount: '549.00', currency: 'USD' },
    });
    const [r] = await commissionsWith(affiliateId, (l) => l[0]?.status === 'rejected');
    assert.equal(r!.reason, 'challenge_refund');
  });

  it('a suspended affiliate accrues nothing, not even once reinstated', async () => {
    const { affiliateId, customerId } = people();
    await putAffiliate(affiliateId, cpa(), 'suspended');
    await send(reg(customerId, affiliateId));
    await send(dep(customerId, '50.00'));
    await settled(customerId, 2);
    assert.deepEqual(await commissions(affiliateId), []);
    // Reinstated: what qualified while suspended stays forfeited; the next event does not accrue it.
    await putAffiliate(affiliateId, cpa(), 'active');
    await send(dep(customerId, '40.00'));
    await settled(customerId, 3);
    assert.deepEqual(await commissions(affiliateId), []);
  });
});

describe('bounds: what could never be settled is refused at the API', () => {
  it('a deal whose durations or amounts no settlement can hold is 422 with the path', async () => {
    const { affiliateId } = people();
    const cases: [Record<string, unknown>, string][] = [
      [cpa({ clawbackWindow: '100000000d' }), 'deal.clawbackWindow'],
      [cpa({ holdPeriod: '3651d', clawbackWindow: '3651d' }), 'deal.holdPeriod'],
      [
        {
          model: 'lot',
          amountPerLot: '999999999999999999',
          currency: 'USD',
          holdPeriod: '1d',
          clawbackWindow: '1d',
        },
        'deal.amountPerLot',
      ],
      [cpa({ amount: '1000000000000.00' }), 'deal.amount'],
    ];
    for (const [deal, path] of cases) {
      const res = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: 'x', deal });
      assert.equal(res.status, 422, `${JSON.stringify(deal)} -> ${res.status}`);
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === path),
        `${path} in ${JSON.stringify(res.body.error.details)}`,
      );
    }
  });

  it('an event dated far in the future, before 2000, or with amounts past the bounds is 422 with the path', async () => {
    const { customerId } = people();
    const challenge = (occurredAt: string) => ({
      id: uniqueId('ch'),
      type: 'challenge.purchased',
      occurredAt,
      customerId,
      data: { challengeId: uniqueId('c'), planId: 'p100k', price: '499.00', currency: 'USD' },
    });
    const trade = {
      id: uniqueId('tr'),
      type: 'trade.closed',
      occurredAt: iso(),
      customerId,
      data: { tradeId: 't1', accountId: 'a1', instrument: 'EURUSD', lots: '999999999999999999' },
    };
    const cases: [Record<string, unknown>, string][] = [
      [challenge('9999-12-31T23:59:59Z'), 'occurredAt'],
      [challenge(iso(25 * 3_600_000)), 'occurredAt'],
      [challenge('1970-01-01T00:00:00Z'), 'occurredAt'],
      [trade, 'data.lots'],
      [dep(customerId, '1000000000000'), 'data.amount'],
    ];
    for (const [event, path] of cases) {
      const res = await api('POST', '/v1/events', event);
      assert.equal(res.status, 422, `${JSON.stringify(event)} -> ${res.status}`);
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === path),
        `${path} in ${JSON.stringify(res.body.error.details)}`,
      );
    }
    // Within the allowed skew: a sender's clock an hour ahead is accepted.
    await send(challenge(iso(3_600_000)));
  });
});

describe('a poison event is parked, not retried for ever', () => {
  it('an event whose settlement fails for good is parked and shown; its sibling settles; fixed, it is resettled', async () => {
    const { affiliateId, customerId } = people();
    // A deal stored before the bounds existed: every accrual under it overflows a date.
    await putAffiliate(affiliateId, {
      model: 'challenge',
      percent: '10',
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    await sys.pool.query(
      `UPDATE affiliates SET deal = jsonb_set(deal, '{clawbackWindow}', '"100000000d"')
        WHERE operator_id = $1 AND affiliate_id = $2`,
      [op.id, affiliateId],
    );
    await send(reg(customerId, affiliateId));
    const poison = {
      id: uniqueId('ch'),
      type: 'challenge.purchased',
      occurredAt: iso(-1000),
      customerId,
      data: { challengeId: uniqueId('c'), planId: 'p100k', price: '500.00', currency: 'USD' },
    };
    await send(poison);
    const sibling = { ...dep(customerId, '40.00'), occurredAt: iso() };
    await send(sibling);

    const parked = await eventually('the poison event parked', async () => {
      const res = await api('GET', `/v1/events/${poison.id}`);
      return res.body.settlement?.status === 'parked' ? res.body.settlement : null;
    });
    assert.match(parked.error, /RangeError/);
    await settled(customerId, 2); // the registration and the deposit settle all the same
    const found = await eventually('the customer workflow marked parked', async () => {
      for await (const wf of sys.client.workflow.list({
        query: `CommissionStatus = 'parked' AND CustomerId = '${customerId}'`,
      }))
        return wf.workflowId;
      return null;
    });
    assert.equal(found, customerWorkflowId(op.id, customerId));

    await putAffiliate(affiliateId, {
      model: 'challenge',
      percent: '10',
      holdPeriod: '1h',
      clawbackWindow: '1d',
    });
    const res = await api('POST', `/v1/events/${poison.id}/resettle`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [commission] = await commissionsWith(affiliateId, (l) => l.length === 1);
    assert.equal(commission!.eventId, poison.id);
    assert.equal(commission!.amount, '50.00');
    await settled(customerId, 3);
    const again = await api('POST', `/v1/events/${poison.id}/resettle`);
    assert.equal(again.status, 409);
    assert.equal((await api('POST', `/v1/events/${uniqueId('nope')}/resettle`)).status, 404);
  });
});
