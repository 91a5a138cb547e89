/**
 * Negative events on postback endpoints (issue 14): a chargeback, a refund or a challenge refund undoes a
 * conversion, so it reaches a tracker only as that preset's reversal, never through the conversion
 * template; a subscription that cannot carry one is refused when saved, and a wildcard says what it leaves
 * out. Against a local tracker stub that records every request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { updateEndpoint } from '../../src/db/endpoints.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';
import { startTracker, type Tracker } from '../support/tracker.js';

let sys: System;
let tracker: Tracker;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  tracker = await startTracker();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await tracker?.stop();
});

function api(method: string, path: string, json?: unknown) {
  return sys.request(method, path, { apiKey: op.apiKey, json });
}

/** Submits an event and waits until its workflow has finished every delivery. */
async function deliver(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id as string)).result();
}

async function deliveriesOf(eventId: string) {
  const res = await api('GET', `/v1/deliveries?eventId=${eventId}`);
  assert.equal(res.status, 200);
  return res.body.data as { id: string; status: string; endpointId: string; eventType: string }[];
}

function invalidDetails(res: { status: number; body: any }) {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'validation_failed');
  return res.body.error.details as { path: string; message: string }[];
}

function customer() {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('player');
  const reg = registration(customerId, { attribution: { affiliateId, clickId: 'c-9f1' } });
  return { affiliateId, customerId, reg };
}

function chargeback(customerId: string, depositId: string) {
  return {
    id: uniqueId('cb'),
    type: 'deposit.chargeback',
    occurredAt: '2026-11-28T09:00:00Z',
    customerId,
    data: { depositId, amount: '50.00', currency: 'EUR', reason: 'stolen card' },
  };
}

describe('a chargeback on a postback endpoint subscribed to deposit.*', () => {
  it('everflow: one conversion, then one reversal at /reversal naming it; never a second conversion', async () => {
    const { affiliateId, customerId, reg } = customer();
    const res = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(`/ef-${affiliateId}?nid=42`),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { preset: 'everflow' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await deliver(reg);
    const ftd = deposit(customerId);
    await deliver(ftd);
    const cb = chargeback(customerId, ftd.data.depositId);
    await deliver(cb);

    assert.deepEqual(tracker.queries(`/ef-${affiliateId}`), [
      `nid=42&transaction_id=c-9f1&amount=50.00&order_id=${ftd.id}`,
    ]);
    assert.deepEqual(tracker.queries('/reversal'), [`nid=42&order_id=${ftd.id}`]);
    const [d] = await deliveriesOf(cb.id);
    assert.equal(d!.status, 'succeeded');
  });

  it('keitaro: the same conversion again with its rejected status, not a new one', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/kt-${affiliateId}`;
    const res = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(path),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { preset: 'keitaro' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await deliver(reg);
    const ftd = deposit(customerId);
    await deliver(ftd);
    await deliver(chargeback(customerId, ftd.data.depositId));
    assert.deepEqual(tracker.queries(path), [
      `subid=c-9f1&status=&payout=&currency=EUR&tid=${ftd.id}`,
      `subid=c-9f1&status=rejected&payout=&currency=EUR&tid=${ftd.id}`,
    ]);
  });

  it('a template with a negative amount nets the deposit out with its own transaction', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/net-${affiliateId}`;
    const res = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(path),
      eventTypes: ['deposit.ftd', 'deposit.refunded'],
      affiliateId,
      postback: {
        template: `${tracker.url(path)}?cid={click_id}&amount={amount}&txid={event_id}&of={conversion_id}`,
        negativePayoutOnReversal: true,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await deliver(reg);
    const ftd = deposit(customerId);
    await deliver(ftd);
    const refund = {
      id: uniqueId('rf'),
      type: 'deposit.refunded',
      occurredAt: '2026-11-28T09:00:00Z',
      customerId,
      data: { depositId: ftd.data.depositId, amount: '20.00', currency: 'EUR' },
    };
    await deliver(refund);
    assert.deepEqual(tracker.queries(path), [
      `cid=c-9f1&amount=50.00&txid=${ftd.id}&of=${ftd.id}`,
      `cid=c-9f1&amount=-20.00&txid=${refund.id}&of=${ftd.id}`,
    ]);
  });
});

describe('subscribing a postback endpoint', () => {
  const template = (path: string) => `${tracker.url(path)}?cid={click_id}&txid={event_id}`;

  it('an explicit negative type without a reversal is 422 at eventTypes.<i>, saying why and what to do', async () => {
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        format: 'postback',
        url: tracker.url('/plain'),
        eventTypes: ['deposit.ftd', 'deposit.chargeback'],
        postback: { template: template('/plain') },
      }),
    );
    assert.equal(details.length, 1, JSON.stringify(details));
    assert.equal(details[0]!.path, 'eventTypes.1');
    assert.match(details[0]!.message, /undoes a conversion/);
    assert.match(details[0]!.message, /reversalTemplate/);
  });

  it('a preset without a reversal for an operator event (voluum) is 422 too, and nothing is saved', async () => {
    const before = (await api('GET', '/v1/endpoints?limit=500')).body.data.length;
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        format: 'postback',
        url: tracker.url('/voluum'),
        eventTypes: ['challenge.refunded'],
        postback: { preset: 'voluum' },
      }),
    );
    assert.deepEqual(
      details.map((d) => d.path),
      ['eventTypes.0'],
    );
    assert.match(details[0]!.message, /voluum/);
    assert.equal((await api('GET', '/v1/endpoints?limit=500')).body.data.length, before);
  });

  it('a type that means nothing to a tracker is 422 as well', async () => {
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        format: 'postback',
        url: tracker.url('/kt'),
        eventTypes: ['deposit.ftd', 'revenue.daily'],
        postback: { preset: 'keitaro' },
      }),
    );
    assert.deepEqual(
      details.map((d) => d.path),
      ['eventTypes.1'],
    );
  });

  it('PATCH: a negative type, or settings that drop the reversal it needs, is 422 at eventTypes.<i>', async () => {
    const created = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url('/patch'),
      affiliateId: uniqueId('aff'),
      eventTypes: ['deposit.ftd', 'deposit.refunded'],
      postback: {
        template: template('/patch'),
        reversalTemplate: `${tracker.url('/patch-rev')}?t={conversion_id}`,
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const at = `/v1/endpoints/${created.body.id}`;
    const add = invalidDetails(await api('PATCH', at, { postback: { template: template('/patch') } }));
    assert.deepEqual(
      add.map((d) => d.path),
      ['eventTypes.1'],
    );
    assert.match(add[0]!.message, /reversalTemplate/);
    const stored = (await api('GET', at)).body;
    assert.equal(stored.postback.reversalTemplate, `${tracker.url('/patch-rev')}?t={conversion_id}`);

    const plain = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url('/patch2'),
      affiliateId: uniqueId('aff'),
      eventTypes: ['deposit.ftd'],
      postback: { template: template('/patch2') },
    });
    assert.equal(plain.status, 201);
    const types = invalidDetails(
      await api('PATCH', `/v1/endpoints/${plain.body.id}`, {
        eventTypes: ['commission.approved', 'commission.reversed', 'deposit.ftd'],
      }),
    );
    assert.deepEqual(
      types.map((d) => d.path),
      ['eventTypes.1'],
    );
  });

  it('a wildcard answers what it delivers and what it leaves out, and why', async () => {
    const res = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url('/wild'),
      eventTypes: ['deposit.*'],
      // Scoped to an affiliate of its own, so that the next test's chargeback does not reach it.
      affiliateId: uniqueId('aff'),
      postback: { template: template('/wild') },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.eventTypesDelivered, ['deposit.completed', 'deposit.ftd']);
    assert.deepEqual(
      res.body.eventTypesExcluded.map((e: { eventType: string }) => e.eventType),
      ['deposit.chargeback', 'deposit.refunded'],
    );
    assert.match(res.body.eventTypesExcluded[0].reason, /undoes a conversion/);
    const read = await api('GET', `/v1/endpoints/${res.body.id}`);
    assert.deepEqual(read.body.eventTypesDelivered, res.body.eventTypesDelivered);

    const ef = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url('/wild-ef?nid=1'),
      eventTypes: ['deposit.*'],
      affiliateId: uniqueId('aff'),
      postback: { preset: 'everflow' },
    });
    assert.deepEqual(ef.body.eventTypesDelivered, [
      'deposit.completed',
      'deposit.chargeback',
      'deposit.refunded',
      'deposit.ftd',
    ]);
    assert.deepEqual(ef.body.eventTypesExcluded, []);
  });

  it('a chargeback matched by a wildcard that cannot carry it gets no delivery at all; nothing is sent', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/wild-${affiliateId}`;
    const ep = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(path),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { template: template(path) },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    await deliver(reg);
    const ftd = deposit(customerId);
    await deliver(ftd);
    const cb = chargeback(customerId, ftd.data.depositId);
    await deliver(cb);
    assert.deepEqual(tracker.queries(path), [`cid=c-9f1&txid=${ftd.id}`]);
    // The wildcard's exclusion is on the endpoint, once; not a cancelled delivery per chargeback.
    const d = (await deliveriesOf(cb.id)).find((x) => x.endpointId === ep.body.id);
    assert.equal(d, undefined, `a delivery was created only to be cancelled: ${JSON.stringify(d)}`);
    const excluded = (await api('GET', `/v1/endpoints/${ep.body.id}`)).body.eventTypesExcluded as {
      eventType: string;
      reason: string;
    }[];
    assert.match(excluded.find((x) => x.eventType === 'deposit.chargeback')!.reason, /undoes a conversion/);
  });
});

describe('subscriptions that cannot be carried, at delivery time', () => {
  it('an explicit negative type saved before it was refused: listed as excluded; its delivery cancelled, unsent', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/legacy-${affiliateId}`;
    const created = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(path),
      eventTypes: ['deposit.ftd'],
      affiliateId,
      postback: { template: `${tracker.url(path)}?cid={click_id}&txid={event_id}` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // As an earlier version saved it, past the API's check.
    await updateEndpoint(sys.pool, op.id, created.body.id, {
      eventTypes: ['deposit.ftd', 'deposit.chargeback'],
    });
    const read = (await api('GET', `/v1/endpoints/${created.body.id}`)).body;
    assert.deepEqual(read.eventTypesDelivered, ['deposit.ftd']);
    assert.deepEqual(
      read.eventTypesExcluded.map((e: { eventType: string }) => e.eventType),
      ['deposit.chargeback'],
    );

    await deliver(reg);
    const ftd = deposit(customerId);
    await deliver(ftd);
    const cb = chargeback(customerId, ftd.data.depositId);
    await deliver(cb);
    assert.deepEqual(tracker.queries(path), [`cid=c-9f1&txid=${ftd.id}`]);
    const d = (await deliveriesOf(cb.id)).find((x) => x.endpointId === created.body.id);
    assert.equal(d!.status, 'cancelled');
    const detail = (await api('GET', `/v1/deliveries/${d!.id}`)).body;
    assert.match(detail.lastError, /^not sent: deposit\.chargeback undoes a conversion/);
  });

  it('a chargeback of a deposit never received is not sent: it would name no conversion', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/orphan-${affiliateId}`;
    const created = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(`${path}?nid=7`),
      eventTypes: ['deposit.chargeback'],
      affiliateId,
      postback: { preset: 'everflow' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await deliver(reg);
    const cb = chargeback(customerId, uniqueId('dep'));
    await deliver(cb);
    assert.deepEqual(
      tracker.queries('/reversal').filter((q) => q.startsWith('nid=7&')),
      [],
    );
    const [d] = await deliveriesOf(cb.id);
    assert.equal(d!.status, 'cancelled');
    const detail = (await api('GET', `/v1/deliveries/${d!.id}`)).body;
    assert.match(detail.lastError, /deposit\.completed it undoes .* was never received/);
  });
});
