/**
 * A chargeback that overtakes its deposit on a postback endpoint (issue 14, item 2, left over): the deposit's
 * conversion is still retrying (the tracker answered 503) when the chargeback comes. Sending the reversal
 * then and the conversion at its next attempt would leave the tracker with a counted conversion that was
 * charged back. The tracker must end with neither: the waiting conversion is cancelled, the chargeback is
 * not sent, and each delivery says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';
import { startTracker, type Tracker } from '../support/tracker.js';

let sys: System;
let op: { id: string; apiKey: string };
let tracker: Tracker;

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
  tracker = await startTracker();
});
after(async () => {
  await sys?.stop();
  await tracker?.stop();
});

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, json });

/**
 * The event's delivery of `eventType` to the endpoint. A first deposit has two to a postback endpoint,
 * `deposit.completed` (cancelled: sent once, as `deposit.ftd`) and `deposit.ftd`: the type says which.
 */
async function deliveryOf(eventId: string, endpointId: string, eventType: string) {
  const res = await api('GET', `/v1/deliveries?eventId=${eventId}`);
  assert.equal(res.status, 200);
  const d = (res.body.data as { id: string; endpointId: string; eventType: string }[]).find(
    (x) => x.endpointId === endpointId && x.eventType === eventType,
  );
  return d
    ? ((await api('GET', `/v1/deliveries/${d.id}`)).body as {
        id: string;
        status: string;
        lastError: string | null;
      })
    : null;
}

/** Polls `fn` until it returns something; on time-out says what `seen` last showed (CI under load once timed out here). */
async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  seen: () => Promise<unknown>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      assert.fail(`timed out after ${ms} ms waiting for ${what}; last seen: ${JSON.stringify(await seen())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a chargeback that overtakes its deposit on a postback endpoint', () => {
  it('when the deposit is still retrying, then it is cancelled, the chargeback is not sent, and both say why', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('player');
    const ep = await api('POST', '/v1/endpoints', {
      format: 'postback',
      url: tracker.url(`/ef-${affiliateId}?nid=42`),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { preset: 'everflow' },
      retryPolicy: { schedule: ['1h'] },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    // The tracker refuses the conversion once (503); with an hour to the next attempt it waits.
    tracker.script(`/ef-${affiliateId}`, [{ status: 503, body: 'busy' }]);
    const reg = registration(customerId, { attribution: { affiliateId, clickId: 'c-1' } });
    assert.equal((await api('POST', '/v1/events', reg)).status, 202);
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id)).result();

    const ftd = deposit(customerId);
    assert.equal((await api('POST', '/v1/events', ftd)).status, 202);
    const waiting = await until(
      'the deposit to be retrying',
      async () => {
        const d = await deliveryOf(ftd.id, ep.body.id, 'deposit.ftd');
        return d?.status === 'retrying' && d;
      },
      async () => ({
        deliveries: (await api('GET', `/v1/deliveries?eventId=${ftd.id}`)).body,
        trackerPaths: tracker.paths(),
        workflow: await sys.client.workflow
          .getHandle(eventWorkflowId(op.id, ftd.id))
          .describe()
          .then((d) => d.status.name)
          .catch((err: Error) => err.message),
      }),
    );

    const cb = {
      id: uniqueId('cb'),
      type: 'deposit.chargeback',
      occurredAt: '2026-11-28T09:00:00Z',
      customerId,
      data: { depositId: ftd.data.depositId, amount: '50.00', currency: 'EUR', reason: 'stolen card' },
    };
    assert.equal((await api('POST', '/v1/events', cb)).status, 202);
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, cb.id)).result();

    const cbDelivery = await deliveryOf(cb.id, ep.body.id, 'deposit.chargeback');
    assert.equal(cbDelivery?.status, 'cancelled', JSON.stringify(cbDelivery));
    assert.match(cbDelivery!.lastError!, /had not reached the tracker .*cancelled instead/);
    // The deposit's workflow ends now, not at its attempt an hour away.
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, ftd.id)).result();
    const ftdDelivery = await deliveryOf(ftd.id, ep.body.id, 'deposit.ftd');
    assert.equal(ftdDelivery?.id, waiting.id);
    assert.equal(ftdDelivery?.status, 'cancelled');
    assert.match(ftdDelivery!.lastError!, new RegExp(`deposit.chargeback ${cb.id} undid it`));
    assert.deepEqual(
      tracker.paths(),
      [`/ef-${affiliateId}`],
      'one refused conversion attempt, and no reversal',
    );
  });
});
