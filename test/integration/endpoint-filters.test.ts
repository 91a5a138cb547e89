/**
 * Routing by what the event says (issue #17, item 7): an endpoint's `filter` over brand, country,
 * affiliate, sub-ids and data lets through only the events of its types that satisfy it; an endpoint
 * without one receives every event of its types, as before. A bad filter is refused, one detail per
 * problem, and changes nothing; `test-filter` says whether an event would pass, and why.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { startAcceptedEvent } from '../../src/temporal/start-event.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { recordOnly } from '../support/recorded.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

type Operator = { id: string; apiKey: string };

async function createEndpoint(op: Operator, path: string, body: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; filter: unknown };
}

async function send(op: Operator, event: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id as string)).result();
}

/** What a receiver path got, each body verified with the endpoint's secret: `type:eventId`, sorted. */
function received(path: string, secret: string): string[] {
  return rx
    .requests(path)
    .map((r) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as any)
    .map((b) => `${b.type}:${b.data.eventId}`)
    .sort();
}

const brandXSpain = {
  and: [
    { field: 'brand', eq: 'casino-x' },
    { field: 'country', in: ['ES'] },
  ],
};

describe('an endpoint filter routes by what the event says', () => {
  let op: Operator;
  const paths = {
    filtered: `/filtered-${uniqueId('p')}`,
    all: `/all-${uniqueId('p')}`,
    fb: `/fb-${uniqueId('p')}`,
  };
  const endpoints: Record<keyof typeof paths, { id: string; secret: string }> = {} as never;
  const sent: Record<string, { reg: any; dep: any }> = {};

  before(async () => {
    op = await sys.createOperator();
    const types = ['customer.registered', 'deposit.ftd'];
    endpoints.filtered = await createEndpoint(op, paths.filtered, { eventTypes: types, filter: brandXSpain });
    endpoints.all = await createEndpoint(op, paths.all, { eventTypes: types });
    // Amounts compared as decimals ("10.50" > "9.9", though not as text), and a nested sub-id.
    endpoints.fb = await createEndpoint(op, paths.fb, {
      eventTypes: ['deposit.ftd'],
      filter: {
        and: [
          { field: 'data.amount', gt: '9.9' },
          { field: 'attribution.subIds.sub1', eq: 'fb' },
        ],
      },
    });
    const customers = {
      xEs: { brand: 'casino-x', country: 'ES', sub1: 'fb', amount: '10.50' },
      yEs: { brand: 'casino-y', country: 'ES', sub1: 'fb', amount: '50.00' },
      xDe: { brand: 'casino-x', country: 'DE', sub1: 'google', amount: '100.00' },
      xEsSmall: { brand: 'casino-x', country: 'ES', sub1: 'fb', amount: '9.90' },
    };
    for (const [name, c] of Object.entries(customers)) {
      const customerId = uniqueId(name);
      const reg = registration(customerId, {
        brand: c.brand,
        attribution: { affiliateId: 'aff-7', subIds: { sub1: c.sub1 } },
        data: { country: c.country },
      });
      // The deposit says its brand but not the country: that is the customer's, from its registration.
      const dep = deposit(customerId, {
        brand: c.brand,
        data: { depositId: uniqueId('dep'), amount: c.amount, currency: 'EUR' },
      });
      await send(op, reg);
      await send(op, dep);
      sent[name] = { reg, dep };
    }
  });

  it("when operators route brand X's Spanish events to one tracker, then it receives exactly those, and an unfiltered endpoint all", async () => {
    await rx.waitFor(paths.all, 8, 60_000);
    await rx.waitFor(paths.filtered, 4, 60_000);
    const expected = ['xEs', 'xEsSmall']
      .flatMap((n) => [`customer.registered:${sent[n]!.reg.id}`, `deposit.ftd:${sent[n]!.dep.id}`])
      .sort();
    assert.deepEqual(received(paths.filtered, endpoints.filtered.secret), expected);
    const everything = Object.values(sent)
      .flatMap(({ reg, dep }) => [`customer.registered:${reg.id}`, `deposit.ftd:${dep.id}`])
      .sort();
    assert.deepEqual(received(paths.all, endpoints.all.secret), everything);
    // "9.90" is not above "9.9"; "10.50" and "50.00" are; sub1 "google" is not "fb".
    await rx.waitFor(paths.fb, 2, 30_000);
    assert.deepEqual(
      received(paths.fb, endpoints.fb.secret),
      [`deposit.ftd:${sent.xEs!.dep.id}`, `deposit.ftd:${sent.yEs!.dep.id}`].sort(),
    );
  });

  it('then each delivery of the filtered endpoint says why it matched, and an unfiltered one has no routing', async () => {
    const list = await sys.request('GET', `/v1/deliveries?endpointId=${endpoints.filtered.id}`, {
      apiKey: op.apiKey,
    });
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 4);
    for (const d of list.body.data) {
      assert.deepEqual(d.routing.filter, brandXSpain);
      assert.deepEqual(
        d.routing.reasons.map((r: any) => [r.path, r.result]),
        [
          ['filter', true],
          ['filter.and.0', true],
          ['filter.and.1', true],
        ],
      );
    }
    const ftd = list.body.data.find((d: any) => d.eventId === sent.xEs!.dep.id);
    const detail = await sys.request('GET', `/v1/deliveries/${ftd.id}`, { apiKey: op.apiKey });
    assert.equal(detail.body.routing.reasons[2].why, 'country is "ES"');
    const all = await sys.request('GET', `/v1/deliveries?endpointId=${endpoints.all.id}`, {
      apiKey: op.apiKey,
    });
    assert.ok(all.body.data.length === 8 && all.body.data.every((d: any) => d.routing === null));
  });

  it('test-filter judges a stored event as it was delivered, a sample, or a filter to try', async () => {
    const url = `/v1/endpoints/${endpoints.filtered.id}/test-filter`;
    const stored = await sys.request('POST', url, { apiKey: op.apiKey, json: { eventId: sent.xDe!.dep.id } });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.equal(stored.body.match, false);
    assert.deepEqual(stored.body.filter, brandXSpain);
    assert.deepEqual(
      stored.body.reasons.map((r: any) => [r.path, r.clause, r.result, r.why]),
      [
        ['filter', 'and of 2', false, '1 of 2 held'],
        ['filter.and.0', 'brand eq "casino-x"', true, 'brand is "casino-x"'],
        ['filter.and.1', 'country in ["ES"]', false, 'country is "DE"'],
      ],
    );
    const sample = await sys.request('POST', url, {
      apiKey: op.apiKey,
      json: { event: { brand: 'casino-x', data: { country: 'ES', amount: '12.00' } } },
    });
    assert.equal(sample.body.match, true);
    const tried = await sys.request('POST', url, {
      apiKey: op.apiKey,
      json: {
        event: { brand: 'casino-x', data: { amount: '12.00' } },
        filter: { field: 'data.amount', gte: '12' },
      },
    });
    assert.deepEqual([tried.body.match, tried.body.reasons[0].why], [true, 'data.amount is "12.00"']);
    const unfiltered = await sys.request('POST', `/v1/endpoints/${endpoints.all.id}/test-filter`, {
      apiKey: op.apiKey,
      json: { event: {} },
    });
    assert.deepEqual(unfiltered.body, { match: true, filter: null, reasons: [] });
    const missing = await sys.request('POST', url, { apiKey: op.apiKey, json: { eventId: 'no-such-event' } });
    assert.equal(missing.status, 404);
    const neither = await sys.request('POST', url, { apiKey: op.apiKey, json: {} });
    assert.equal(neither.status, 422);
  });
});

describe('a filter is part of the subscription', () => {
  it('when a filter changes after an event was accepted, then the event goes by the filter at its acceptance', async () => {
    const op = await sys.createOperator();
    const path = `/moving-filter-${uniqueId('p')}`;
    const e = await createEndpoint(op, path, {
      eventTypes: ['customer.registered'],
      filter: { field: 'brand', eq: 'casino-x' },
    });
    const before = registration(uniqueId('player'), { brand: 'casino-x' });
    await recordOnly(sys.pool, op.id, before);
    const patched = await sys.request('PATCH', `/v1/endpoints/${e.id}`, {
      apiKey: op.apiKey,
      json: { filter: { field: 'brand', eq: 'casino-y' } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const afterY = registration(uniqueId('player'), { brand: 'casino-y' });
    const afterX = registration(uniqueId('player'), { brand: 'casino-x' });
    for (const ev of [afterY, afterX]) await recordOnly(sys.pool, op.id, ev);
    // The workflows run only now, after the change.
    for (const ev of [before, afterY, afterX]) {
      await startAcceptedEvent(sys.client, op.id, ev, {
        taskQueue: sys.taskQueue,
        eager: false,
        timeoutMs: 5_000,
      });
      await sys.client.workflow.getHandle(eventWorkflowId(op.id, ev.id)).result();
    }
    await rx.waitFor(path, 2, 30_000);
    assert.deepEqual(
      received(path, e.secret),
      [`customer.registered:${before.id}`, `customer.registered:${afterY.id}`].sort(),
    );
  });
});

describe("the README's filter example", () => {
  it('is accepted as written, and lets through what its sentence says', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    const example = blocks.filter((b) => b.includes('"url": "https://es.tracker.example/x"'));
    assert.equal(example.length, 1, 'one README block holds the filter example');
    const body = JSON.parse(example[0]!);
    const op = await sys.createOperator();
    // The example's receiver does not resolve here: a local one stands in for it.
    const e = await createEndpoint(op, `/readme-${uniqueId('p')}`, body);
    const judge = async (event: Record<string, unknown>) => {
      const res = await sys.request('POST', `/v1/endpoints/${e.id}/test-filter`, {
        apiKey: op.apiKey,
        json: { event },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.match as boolean;
    };
    const ftd = {
      brand: 'casino-x',
      country: 'ES',
      attribution: { subIds: { sub1: 'fb' } },
      data: { amount: '20.00' },
    };
    assert.equal(await judge(ftd), true);
    assert.equal(await judge({ ...ftd, data: { amount: '19.99' } }), false);
    assert.equal(await judge({ ...ftd, country: 'PT' }), false);
    assert.equal(await judge({ ...ftd, attribution: { subIds: { sub1: 'test-1' } } }), false);
  });
});

describe('a bad filter is refused, one detail per problem, and changes nothing', () => {
  const bad = {
    and: [
      { field: 'brandd', eq: 'casino-x' },
      { field: 'data.amount', gt: 9.9 },
      { field: 'country', equals: 'ES' },
    ],
  };
  const problems = ['filter.and.0.field', 'filter.and.1.gt', 'filter.and.2.equals'];

  it('on create: 422 with the path of each problem, and no endpoint', async () => {
    const op = await sys.createOperator();
    const res = await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: { url: rx.url('/never'), eventTypes: ['*'], filter: bad },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, 'validation_failed');
    assert.deepEqual(
      res.body.error.details.map((d: any) => d.path),
      problems,
    );
    assert.match(res.body.error.details[1].message, /decimal string/);
    const list = await sys.request('GET', '/v1/endpoints', { apiKey: op.apiKey });
    assert.deepEqual(list.body.data, []);
  });

  it('on change: 422, the filter stays; null lifts it', async () => {
    const op = await sys.createOperator();
    const e = await createEndpoint(op, `/kept-${uniqueId('p')}`, { eventTypes: ['*'], filter: brandXSpain });
    assert.deepEqual(e.filter, brandXSpain);
    const res = await sys.request('PATCH', `/v1/endpoints/${e.id}`, {
      apiKey: op.apiKey,
      json: { filter: bad },
    });
    assert.equal(res.status, 422);
    assert.deepEqual(
      res.body.error.details.map((d: any) => d.path),
      problems,
    );
    const kept = await sys.request('GET', `/v1/endpoints/${e.id}`, { apiKey: op.apiKey });
    assert.deepEqual(kept.body.filter, brandXSpain);
    const lifted = await sys.request('PATCH', `/v1/endpoints/${e.id}`, {
      apiKey: op.apiKey,
      json: { filter: null },
    });
    assert.equal(lifted.status, 200);
    assert.equal(lifted.body.filter, null);
  });
});

describe('derived events go through the same filter', () => {
  it("when a tracker takes brand X's Spanish commissions, then it gets the commission.accrued of those FTDs only, carrying the brand", async () => {
    const op = await sys.createOperator();
    const affiliateId = uniqueId('aff');
    const put = await sys.request('PUT', `/v1/affiliates/${affiliateId}`, {
      apiKey: op.apiKey,
      json: {
        name: 'Affiliate',
        deal: { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod: '1h', clawbackWindow: '90d' },
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const paths = { filtered: `/com-x-${uniqueId('p')}`, all: `/com-all-${uniqueId('p')}` };
    const eventTypes = ['commission.accrued'];
    // The commission's own data is there too: its amount compared as a decimal.
    const filter = { and: [...brandXSpain.and, { field: 'data.amount', gte: '100' }] };
    const filtered = await createEndpoint(op, paths.filtered, { eventTypes, affiliateId, filter });
    const all = await createEndpoint(op, paths.all, { eventTypes, affiliateId });
    const conversions: Record<string, string> = {};
    for (const brand of ['casino-x', 'casino-y']) {
      const customerId = uniqueId('player');
      const at = new Date(Date.now() - 60_000).toISOString();
      await send(
        op,
        registration(customerId, {
          brand,
          occurredAt: at,
          attribution: { affiliateId },
          data: { country: 'ES' },
        }),
      );
      const ftd = deposit(customerId, { brand, occurredAt: new Date().toISOString() });
      await send(op, ftd);
      conversions[brand] = ftd.id;
    }
    const everything = await rx.waitFor(paths.all, 2, 60_000);
    const bodies = everything.map(
      (r) => new Webhook(all.secret).verify(r.body, r.headers as Record<string, string>) as any,
    );
    assert.deepEqual(bodies.map((b) => b.data.brand).sort(), ['casino-x', 'casino-y']);
    const [got] = await rx.waitFor(paths.filtered, 1, 30_000);
    const body = new Webhook(filtered.secret).verify(
      got!.body,
      got!.headers as Record<string, string>,
    ) as any;
    assert.deepEqual(
      [body.type, body.data.brand, body.data.details.conversionEventId],
      ['commission.accrued', 'casino-x', conversions['casino-x']],
    );
    // Both commissions were booked and notified by now: the other never reaches the filtered endpoint.
    assert.equal(rx.requests(paths.filtered).length, 1);
    const list = await sys.request('GET', `/v1/deliveries?endpointId=${filtered.id}`, { apiKey: op.apiKey });
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].routing.reasons[3].why, 'data.amount is "100.00"');
  });
});
