/**
 * `PUT /v1/affiliates/{id}` emits `affiliate.created`, `affiliate.updated` and `affiliate.status_changed`
 * as signed webhooks to the endpoints that subscribe, attributed to the affiliate, so an endpoint scoped to
 * one affiliate receives that affiliate's and no other's; a PUT that changes nothing emits nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { assertDocumentedWebhook } from '../support/documented.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator('affiliate events');
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, json });

const deal = {
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '10.00' },
  holdPeriod: '30d',
  clawbackWindow: '90d',
};

async function put(affiliateId: string, fields: Record<string, unknown>, status: number) {
  const res = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: affiliateId, deal, ...fields });
  assert.equal(res.status, status, JSON.stringify(res.body));
}

async function endpoint(path: string, affiliateId: string) {
  const res = await api('POST', '/v1/endpoints', {
    url: rx.url(path),
    eventTypes: ['affiliate.*'],
    affiliateId,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

async function deliveryTypes(endpointId: string): Promise<string[]> {
  const res = await api('GET', `/v1/deliveries?endpointId=${endpointId}&limit=500`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.data as { eventType: string }[]).map((d) => d.eventType);
}

interface Body {
  type: string;
  data: { eventId: string; attribution: { affiliateId: string } | null; details: Record<string, unknown> };
}

describe('affiliate events', () => {
  it('delivers created and status_changed to the affiliate’s own endpoint, signed and as documented, and nothing for a PUT that changes nothing', async () => {
    const mine = uniqueId('aff');
    const other = uniqueId('aff');
    const ep = await endpoint(`/mine-${mine}`, mine);
    const otherEp = await endpoint(`/other-${other}`, other);

    await put(mine, { status: 'active' }, 201);
    await put(mine, { status: 'active' }, 200); // identical: emits nothing
    await put(mine, { status: 'suspended' }, 200);
    await put(mine, { status: 'suspended' }, 200); // identical again
    // A marker after the identical PUTs: a deal change, the last thing emitted for this affiliate.
    await put(mine, { status: 'suspended', deal: { ...deal, amount: '150.00' } }, 200);

    // Deliveries are recorded with the change, in its transaction: exactly three, whatever arrives when.
    assert.deepEqual((await deliveryTypes(ep.id)).sort(), [
      'affiliate.created',
      'affiliate.status_changed',
      'affiliate.updated',
    ]);
    assert.deepEqual(await deliveryTypes(otherEp.id), []);
    const received = await rx.waitFor(`/mine-${mine}`, 3, 60_000);
    const bodies = received.map((r) => {
      const verified = new Webhook(ep.secret).verify(r.body, r.headers as Record<string, string>);
      assert.ok(verified, 'signed with the endpoint secret');
      return JSON.parse(r.body) as Body;
    });
    for (const b of bodies) assertDocumentedWebhook(b);
    const byType = (t: string) => bodies.filter((b) => b.type === t);
    assert.deepEqual(bodies.map((b) => b.type).sort(), [
      'affiliate.created',
      'affiliate.status_changed',
      'affiliate.updated',
    ]);
    const created = byType('affiliate.created')[0]!;
    assert.equal(created.data.attribution?.affiliateId, mine);
    assert.equal(created.data.details.affiliateId, mine);
    assert.equal(created.data.details.status, 'active');
    assert.equal(created.data.details.dealModel, 'cpa');
    const suspended = byType('affiliate.status_changed')[0]!;
    assert.equal(suspended.data.attribution?.affiliateId, mine);
    assert.equal(suspended.data.details.previousStatus, 'active');
    assert.equal(suspended.data.details.status, 'suspended');
    assert.equal(suspended.data.details.dealModel, 'cpa');
    const updated = byType('affiliate.updated')[0]!;
    assert.deepEqual(updated.data.details.changed, ['deal']);
    assert.equal(updated.data.details.status, 'suspended');
    assert.equal(new Set(bodies.map((b) => b.data.eventId)).size, 3, 'one event per change');

    // The other affiliate's endpoint received none of this; its own affiliate's creation it does receive.
    assert.equal(rx.requests(`/other-${other}`).length, 0);
    await put(other, {}, 201);
    const theirs = await rx.waitFor(`/other-${other}`, 1, 60_000);
    const body = JSON.parse(theirs[0]!.body) as Body;
    assert.equal(body.type, 'affiliate.created');
    assert.equal(body.data.details.affiliateId, other);
    assert.deepEqual(await deliveryTypes(otherEp.id), ['affiliate.created']);
    assert.equal((await deliveryTypes(ep.id)).length, 3, 'nothing of the other affiliate reached mine');
  });

  it('refuses affiliate events on a postback endpoint at subscription: they mean nothing to a tracker', async () => {
    const res = await api('POST', '/v1/endpoints', {
      url: rx.url('/pb'),
      format: 'postback',
      postback: { template: `${rx.url('/pb')}?click={click_id}&payout={payout}` },
      eventTypes: ['affiliate.status_changed'],
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body.error), /means nothing to a tracker/);
  });
});
