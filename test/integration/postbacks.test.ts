/**
 * Postback endpoints (docs/api-v1.md section 4, issue 7): the URL each preset sends to a local tracker stub, POST
 * bodies, what a missing value does, templates refused when saved, the success matcher, and redrives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import type { DeliveryView } from '../../workflows/definitions.js';
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

async function createEndpoint(fields: Record<string, unknown>) {
  const res = await api('POST', '/v1/endpoints', { format: 'postback', ...fields });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; [k: string]: unknown };
}

/** Submits an event and waits until its workflow has finished every delivery. */
async function deliver(event: Record<string, unknown>): Promise<{ deliveries: DeliveryView[] }> {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id as string)).result();
}

async function deliveryDetail(id: string) {
  const res = await api('GET', `/v1/deliveries/${id}`);
  assert.equal(res.status, 200);
  return res.body;
}

async function deliveriesOf(eventId: string) {
  const res = await api('GET', `/v1/deliveries?eventId=${eventId}`);
  assert.equal(res.status, 200);
  return res.body.data as { id: string; status: string; endpointId: string; eventType: string }[];
}

/** A customer of an affiliate of its own, registered with a click id that needs encoding. */
function customer() {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('player');
  const attribution = { affiliateId, clickId: 'clk 9/1+é', subIds: { sub1: 'fb&ig' } };
  return { affiliateId, customerId, reg: registration(customerId, { attribution }) };
}

/** What the stub sees of `clk 9/1+é` in a query: percent-encoded, space as %20. */
const CLICK = 'clk%209%2F1%2B%C3%A9';

function invalidDetails(res: { status: number; body: any }) {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'validation_failed');
  return res.body.error.details as { path: string; message: string }[];
}

describe('what each preset sends for a first deposit', () => {
  const { affiliateId, customerId, reg } = customer();
  const ftd = deposit(customerId);
  const paths: Record<string, string> = {};

  before(async () => {
    for (const preset of ['keitaro', 'voluum', 'everflow', 'binom', 'affise', 'redtrack']) {
      paths[preset] = `/${preset}-${affiliateId}`;
      const url = preset === 'everflow' ? tracker.url(`${paths[preset]}?nid=42`) : tracker.url(paths[preset]);
      await createEndpoint({ url, eventTypes: ['deposit.ftd'], affiliateId, postback: { preset } });
    }
    await deliver(reg);
    const result = await deliver(ftd);
    assert.deepEqual(
      result.deliveries.map((d) => d.status),
      Array(6).fill('succeeded'),
    );
  });

  // A deposit carries no commission: {status} and {payout} go empty, and the tracker applies its default.
  const expected: Record<string, string> = {
    keitaro: `subid=${CLICK}&status=&payout=&currency=EUR&tid=${ftd.id}`,
    voluum: `cid=${CLICK}&payout=&currency=EUR&txid=${ftd.id}&et=deposit.ftd`,
    everflow: `nid=42&transaction_id=${CLICK}&amount=50.00&order_id=${ftd.id}`,
    binom: `cnv_id=${CLICK}&payout=&cnv_currency=EUR&cnv_status=`,
    affise: `clickid=${CLICK}&action_id=${ftd.id}&sum=&status=`,
    redtrack: `clickid=${CLICK}&sum=&currency=EUR&type=deposit.ftd&status=`,
  };
  for (const [preset, query] of Object.entries(expected)) {
    it(`${preset}: one GET, exactly ?${query.replace(ftd.id, '<event id>').replace(CLICK, '<click>')}`, () => {
      const hits = tracker.hits(paths[preset]!);
      assert.equal(hits.length, 1);
      const [hit] = hits;
      assert.equal(hit!.method, 'GET');
      assert.equal(hit!.query, query);
      assert.equal(hit!.body, '');
      // No Standard Webhooks headers and no body framing on a GET postback.
      assert.equal(hit!.headers['webhook-signature'], undefined);
      assert.equal(hit!.headers['webhook-id'], undefined);
      assert.equal(hit!.headers['content-type'], undefined);
      assert.equal(hit!.headers['user-agent'], 'affiliate-hooks/1');
    });
  }
});

describe('sending', () => {
  it('a macro without a value is sent empty, the attempt succeeds, and its log names the macro', async () => {
    const { affiliateId, reg } = customer();
    const path = `/missing-${affiliateId}`;
    const endpoint = await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['customer.registered'],
      affiliateId,
      postback: {
        template: `${tracker.url(path)}?c={click_id}&s1={sub1}&s2={sub2}&geo={country}&p={payout}`,
      },
    });
    const result = await deliver(reg);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const [hit] = tracker.hits(path);
    assert.equal(hit!.query, `c=${CLICK}&s1=fb%26ig&s2=&geo=DE&p=`);
    assert.ok(!hit!.query.includes('{') && !hit!.query.includes('%7B'), 'no brace reaches the tracker');

    const [d] = await deliveriesOf(reg.id);
    assert.equal(d!.endpointId, endpoint.id);
    const detail = await deliveryDetail(d!.id);
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.lastError, null);
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0].statusCode, 200);
    assert.equal(detail.attempts[0].error, 'note: sent empty for want of a value: {sub2}, {payout}');
  });

  it('POST with a form body: the exact body, its content type, the custom headers, the query kept', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/form-${affiliateId}`;
    await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['deposit.ftd'],
      affiliateId,
      headers: { 'X-Token': 't-1' },
      postback: {
        method: 'POST',
        template: `${tracker.url(path)}?key=k1`,
        bodyTemplate: 'clickid={click_id}&sub1={sub1}&amount={amount}&cur={currency}&tid={event_id}',
        bodyEncoding: 'form',
      },
    });
    await deliver(reg);
    const dep = deposit(customerId);
    await deliver(dep);
    const [hit] = tracker.hits(path);
    assert.equal(hit!.method, 'POST');
    assert.equal(hit!.query, 'key=k1');
    assert.equal(hit!.body, `clickid=clk+9%2F1%2B%C3%A9&sub1=fb%26ig&amount=50.00&cur=EUR&tid=${dep.id}`);
    assert.equal(hit!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(hit!.headers['x-token'], 't-1');
    assert.equal(hit!.headers['webhook-signature'], undefined);
  });

  it('POST with a JSON body: the exact JSON text', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/json-${affiliateId}`;
    await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['deposit.ftd'],
      affiliateId,
      postback: {
        method: 'POST',
        template: tracker.url(path),
        bodyTemplate:
          '{"click": "{click_id}", "amount": "{amount}", "event": "{event}", "tid": "{event_id}"}',
        bodyEncoding: 'json',
      },
    });
    await deliver(reg);
    const dep = deposit(customerId);
    await deliver(dep);
    const [hit] = tracker.hits(path);
    assert.equal(hit!.method, 'POST');
    assert.equal(hit!.query, '');
    assert.equal(
      hit!.body,
      `{"click": "clk 9/1+é", "amount": "50.00", "event": "deposit.ftd", "tid": "${dep.id}"}`,
    );
    assert.equal(hit!.headers['content-type'], 'application/json');
  });

  it('a first deposit reaches an endpoint subscribed to deposit.* once, as deposit.ftd', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/deposits-${affiliateId}`;
    const endpoint = await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { template: `${tracker.url(path)}?tid={event_id}&et={event}` },
    });
    await deliver(reg);
    const first = deposit(customerId);
    await deliver(first);
    const second = deposit(customerId);
    await deliver(second);
    assert.deepEqual(
      tracker.hits(path).map((h) => h.query),
      [`tid=${first.id}&et=deposit.ftd`, `tid=${second.id}&et=deposit.completed`],
    );
    const completed = (await deliveriesOf(first.id)).find((d) => d.eventType === 'deposit.completed');
    assert.equal(completed!.endpointId, endpoint.id);
    assert.equal(completed!.status, 'cancelled');
    assert.match((await deliveryDetail(completed!.id)).lastError, /sent once, as deposit\.ftd/);
  });
});

describe('outcomes', () => {
  it('a 200 whose body fails successMatch is retried, then succeeds when it matches', async () => {
    const { affiliateId, reg } = customer();
    const path = `/match-${affiliateId}`;
    tracker.script(path, [
      { status: 200, body: 'error=storage unavailable' },
      { status: 200, body: 'success=true' },
    ]);
    await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: ['200ms', '200ms'], jitter: 0 },
      postback: { preset: 'keitaro', successMatch: '^success=true$' },
    });
    const result = await deliver(reg);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    const detail = await deliveryDetail(result.deliveries[0]!.deliveryId);
    assert.deepEqual(
      detail.attempts.map((a: any) => [a.number, a.statusCode, a.responseBody]),
      [
        [1, 200, 'error=storage unavailable'],
        [2, 200, 'success=true'],
      ],
    );
    assert.match(
      detail.attempts[0].error,
      /^success_mismatch: HTTP 200: the response body does not match successMatch/,
    );
    assert.equal(tracker.hits(path).length, 2);
  });

  it('a 4xx refusal fails the delivery at once: the same request cannot succeed', async () => {
    const { affiliateId, reg } = customer();
    const path = `/refuse-${affiliateId}`;
    tracker.script(path, [{ status: 400, body: 'unknown click' }]);
    await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: ['100ms', '100ms'], jitter: 0 },
      postback: { preset: 'binom' },
    });
    const result = await deliver(reg);
    assert.equal(result.deliveries[0]!.status, 'failed');
    const detail = await deliveryDetail(result.deliveries[0]!.deliveryId);
    assert.equal(detail.attempts.length, 1);
    assert.match(detail.lastError, /HTTP 400: refused by the tracker/);
  });

  it('a redrive re-sends the same transaction id, byte for byte', async () => {
    const { affiliateId, customerId, reg } = customer();
    const path = `/redrive-${affiliateId}`;
    tracker.script(path, [{ status: 500 }, { status: 503 }]);
    await createEndpoint({
      url: tracker.url(path),
      eventTypes: ['deposit.ftd'],
      affiliateId,
      retryPolicy: { schedule: ['100ms'], jitter: 0 },
      postback: { preset: 'affise' },
    });
    await deliver(reg);
    const dep = deposit(customerId);
    const result = await deliver(dep);
    const deliveryId = result.deliveries[0]!.deliveryId;
    assert.equal(result.deliveries[0]!.status, 'failed');

    const retry = await api('POST', `/v1/deliveries/${deliveryId}/retry`);
    assert.equal(retry.status, 202);
    let detail = await deliveryDetail(deliveryId);
    for (let i = 0; i < 200 && detail.status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      detail = await deliveryDetail(deliveryId);
    }
    assert.equal(detail.status, 'succeeded');
    assert.deepEqual(
      detail.attempts.map((a: any) => a.statusCode),
      [500, 503, 200],
    );
    const queries = tracker.hits(path).map((h) => h.query);
    assert.equal(queries.length, 3);
    assert.deepEqual(new Set(queries), new Set([`clickid=${CLICK}&action_id=${dep.id}&sum=&status=`]));
  });
});

describe('saving a postback endpoint', () => {
  const url = () => tracker.url('/saved');

  it('GET answers the postback settings as saved', async () => {
    const postback = {
      preset: 'keitaro',
      method: 'GET',
      template: `${url()}?subid={click_id}&payout={payout}&status={status}&tid={event_id}`,
      statusMap: { approved: 'sale', pending: 'lead', rejected: 'rejected', reversed: 'rejected' },
      successMatch: 'success=true',
    };
    const created = await createEndpoint({ url: url(), eventTypes: ['deposit.ftd'], postback });
    assert.equal(created.format, 'postback');
    assert.deepEqual(created.postback, postback);
    const got = await api('GET', `/v1/endpoints/${created.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.postback, postback);
    const webhook = await api('POST', '/v1/endpoints', { url: url(), eventTypes: ['*'] });
    assert.equal(webhook.status, 201);
    assert.ok(!('postback' in webhook.body), 'a webhook endpoint has no postback settings');
  });

  it('refuses a template with an unknown macro, on create and on PATCH, and saves nothing', async () => {
    const bad = { template: `${url()}?c={clickid}` };
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        url: url(),
        eventTypes: ['*'],
        format: 'postback',
        postback: bad,
      }),
    );
    const at = `${url()}?c=`.length;
    assert.deepEqual(details, [
      { path: 'postback.template', message: `unknown macro '{clickid}' at position ${at}` },
    ]);

    const created = await createEndpoint({ url: url(), eventTypes: ['*'], postback: { preset: 'voluum' } });
    const patched = invalidDetails(await api('PATCH', `/v1/endpoints/${created.id}`, { postback: bad }));
    assert.deepEqual(patched, details);
    const unchanged = await api('GET', `/v1/endpoints/${created.id}`);
    assert.deepEqual(unchanged.body.postback, { preset: 'voluum' });
    assert.equal(unchanged.body.updatedAt, created.updatedAt);

    const fixed = await api('PATCH', `/v1/endpoints/${created.id}`, {
      postback: { template: `${url()}?c={click_id}` },
    });
    assert.equal(fixed.status, 200);
    assert.deepEqual(fixed.body.postback, { template: `${url()}?c={click_id}` });
  });

  it('refuses literal braces, a bad or risky matcher, and POST without a body, naming each field', async () => {
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        url: url(),
        eventTypes: ['*'],
        format: 'postback',
        postback: {
          method: 'POST',
          template: `${url()}?x={{click_id}}`,
          successMatch: '(unclosed',
          statusMap: { approved: 'sa{le' },
        },
      }),
    );
    const paths = details.map((d) => d.path);
    for (const path of [
      'postback.template',
      'postback.bodyEncoding',
      'postback.bodyTemplate',
      'postback.statusMap.approved',
      'postback.successMatch',
    ]) {
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(details)}`);
    }
    const risky = invalidDetails(
      await api('POST', '/v1/endpoints', {
        url: url(),
        eventTypes: ['*'],
        format: 'postback',
        postback: { preset: 'keitaro', successMatch: '(a+)+$' },
      }),
    );
    assert.deepEqual(
      risky.map((d) => d.path),
      ['postback.successMatch'],
    );
  });

  it('postback settings are required for a postback endpoint and refused for a webhook one', async () => {
    const missing = invalidDetails(
      await api('POST', '/v1/endpoints', { url: url(), eventTypes: ['*'], format: 'postback' }),
    );
    assert.deepEqual(
      missing.map((d) => d.path),
      ['postback'],
    );
    const extra = invalidDetails(
      await api('POST', '/v1/endpoints', { url: url(), eventTypes: ['*'], postback: { preset: 'keitaro' } }),
    );
    assert.deepEqual(
      extra.map((d) => d.path),
      ['postback'],
    );
    const unknownField = invalidDetails(
      await api('POST', '/v1/endpoints', {
        url: url(),
        eventTypes: ['*'],
        format: 'postback',
        postback: { preset: 'keitaro', colour: 'red' },
      }),
    );
    assert.deepEqual(unknownField, [{ path: 'postback.colour', message: 'unknown field "colour"' }]);

    const created = await createEndpoint({ url: url(), eventTypes: ['*'], postback: { preset: 'keitaro' } });
    const cleared = invalidDetails(await api('PATCH', `/v1/endpoints/${created.id}`, { postback: null }));
    assert.deepEqual(
      cleared.map((d) => d.path),
      ['postback'],
    );
  });

  it('the SSRF guard applies to the host a template sends to, on create and on PATCH', async () => {
    const internal = { template: 'http://10.0.0.7/postback?c={click_id}' };
    const details = invalidDetails(
      await api('POST', '/v1/endpoints', {
        url: url(),
        eventTypes: ['*'],
        format: 'postback',
        postback: internal,
      }),
    );
    assert.equal(details.length, 1);
    assert.equal(details[0]!.path, 'postback.template');
    assert.match(details[0]!.message, /private/);

    const created = await createEndpoint({ url: url(), eventTypes: ['*'], postback: { preset: 'keitaro' } });
    const patched = invalidDetails(await api('PATCH', `/v1/endpoints/${created.id}`, { postback: internal }));
    assert.equal(patched[0]!.path, 'postback.template');
    const reversal = invalidDetails(
      await api('PATCH', `/v1/endpoints/${created.id}`, {
        postback: { preset: 'keitaro', reversalTemplate: 'http://169.254.169.254/latest?c={click_id}' },
      }),
    );
    assert.equal(reversal[0]!.path, 'postback.reversalTemplate');
  });

  it('a preset builds on the url, so a PATCH of the url alone is checked against it', async () => {
    const created = await createEndpoint({ url: url(), eventTypes: ['*'], postback: { preset: 'affise' } });
    const details = invalidDetails(
      await api('PATCH', `/v1/endpoints/${created.id}`, { url: `${url()}?x={nope}` }),
    );
    assert.equal(details[0]!.path, 'url');
    assert.match(details[0]!.message, /^the affise preset builds its template from it: unknown macro/);
  });
});

describe('reversal postbacks from the commission engine, end to end', () => {
  const presets = ['keitaro', 'voluum', 'everflow', 'binom', 'affise', 'redtrack'] as const;
  // An operator of its own: the endpoints earlier tests left (some subscribed to everything, one still
  // retrying) must not take these events.
  before(async () => {
    op = await sys.createOperator();
  });

  async function customerWithCpa(holdPeriod = '1h') {
    const c = customer();
    const put = await api('PUT', `/v1/affiliates/${c.affiliateId}`, {
      name: 'Tracker affiliate',
      // Deposits count in the CPA's currency: the factory's are EUR.
      deal: { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod, clawbackWindow: '90d' },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    return c;
  }

  async function eventually<T>(what: string, fn: () => Promise<T | null | undefined>, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('each preset gets the conversion, the approval, then the reversal naming the same transaction', async () => {
    const { affiliateId, customerId, reg } = await customerWithCpa();
    const urlOf = (preset: string) =>
      preset === 'everflow' ? `${tracker.origin}/e2e-everflow/?nid=42` : tracker.url(`/e2e-${preset}`);
    for (const preset of presets) {
      await createEndpoint({
        url: urlOf(preset),
        eventTypes: ['deposit.ftd', 'commission.approved', 'commission.reversed'],
        affiliateId,
        postback: { preset },
      });
    }
    await deliver({ ...reg, occurredAt: new Date(Date.now() - 60_000).toISOString() });
    const ftd = deposit(customerId, { occurredAt: new Date().toISOString() });
    await deliver(ftd);
    const commission = await eventually('the accrual', async () => {
      const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions`);
      return res.body.data[0] as { id: string } | undefined;
    });
    assert.equal((await api('POST', `/v1/commissions/${commission.id}/approve`)).status, 200);
    const path = (preset: string) => (preset === 'everflow' ? '/e2e-everflow/' : `/e2e-${preset}`);
    await eventually('the approvals', async () => presets.every((p) => tracker.hits(path(p)).length >= 2));
    const cb = {
      id: uniqueId('cb'),
      type: 'deposit.chargeback',
      occurredAt: new Date().toISOString(),
      customerId,
      data: { depositId: ftd.data.depositId, amount: '50.00', currency: 'EUR', reason: 'stolen card' },
    };
    assert.equal((await api('POST', '/v1/events', cb)).status, 202);
    const reversal = await eventually('the reversal entry', async () => {
      const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions?status=reversed`);
      return (res.body.data as { id: string; reversalOf: string | null }[]).find((c) => c.reversalOf);
    });
    await eventually('the reversals', async () =>
      presets.every(
        (p) =>
          tracker.hits(path(p)).length >= 3 || (p === 'everflow' && tracker.hits('/reversal').length > 0),
      ),
    );
    const reversalTxid = encodeURIComponent(`sys~commission.reversed~${reversal.id}`);
    const expected: Record<string, string[]> = {
      keitaro: [
        `subid=${CLICK}&status=&payout=&currency=EUR&tid=${ftd.id}`,
        `subid=${CLICK}&status=sale&payout=100.00&currency=EUR&tid=${ftd.id}`,
        `subid=${CLICK}&status=rejected&payout=100.00&currency=EUR&tid=${ftd.id}`,
      ],
      voluum: [
        `cid=${CLICK}&payout=&currency=EUR&txid=${ftd.id}&et=deposit.ftd`,
        `cid=${CLICK}&payout=100.00&currency=EUR&txid=${ftd.id}&et=deposit.ftd`,
        `cid=${CLICK}&payout=-100.00&currency=EUR&txid=${reversalTxid}&et=deposit.ftd`,
      ],
      binom: [
        `cnv_id=${CLICK}&payout=&cnv_currency=EUR&cnv_status=`,
        `cnv_id=${CLICK}&payout=100.00&cnv_currency=EUR&cnv_status=approved`,
        `cnv_id=${CLICK}&payout=100.00&cnv_currency=EUR&cnv_status=rejected`,
      ],
      affise: [
        `clickid=${CLICK}&action_id=${ftd.id}&sum=&status=`,
        `clickid=${CLICK}&action_id=${ftd.id}&sum=100.00&status=1`,
        `clickid=${CLICK}&action_id=${ftd.id}&sum=100.00&status=3`,
      ],
      redtrack: [
        `clickid=${CLICK}&sum=&currency=EUR&type=deposit.ftd&status=`,
        `clickid=${CLICK}&sum=100.00&currency=EUR&type=deposit.ftd&status=approved`,
        `clickid=${CLICK}&sum=100.00&currency=EUR&type=deposit.ftd&status=declined`,
      ],
      everflow: [
        `nid=42&transaction_id=${CLICK}&amount=50.00&order_id=${ftd.id}`,
        `nid=42&transaction_id=${CLICK}&amount=&order_id=${ftd.id}`,
      ],
    };
    for (const preset of presets) {
      assert.deepEqual(
        tracker.hits(path(preset)).map((h) => h.query),
        expected[preset],
        preset,
      );
    }
    // Everflow's reversals go to its origin's /reversal, with the url's query.
    assert.deepEqual(
      tracker.hits('/reversal').map((h) => h.query),
      [`nid=42&order_id=${ftd.id}`],
    );
  });

  it('a reversal queued behind an undelivered conversion replaces it: the tracker gets neither', async () => {
    const { affiliateId, customerId, reg } = await customerWithCpa();
    const p = '/queued-keitaro';
    tracker.script(p, [{ status: 503 }]);
    const ep = await createEndpoint({
      url: tracker.url(p),
      eventTypes: ['deposit.ftd', 'commission.rejected'],
      affiliateId,
      postback: { preset: 'keitaro' },
      retryPolicy: { schedule: ['1h'] },
    });
    await deliver({ ...reg, occurredAt: new Date(Date.now() - 60_000).toISOString() });
    const ftd = deposit(customerId, { occurredAt: new Date().toISOString() });
    assert.equal((await api('POST', '/v1/events', ftd)).status, 202);
    await eventually('the failed first attempt', async () => tracker.hits(p).length === 1);
    await eventually('the accrual', async () => {
      const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions`);
      return res.body.data[0];
    });
    const cb = {
      id: uniqueId('cb'),
      type: 'deposit.chargeback',
      occurredAt: new Date().toISOString(),
      customerId,
      data: { depositId: ftd.data.depositId, amount: '50.00', currency: 'EUR', reason: 'stolen card' },
    };
    assert.equal((await api('POST', '/v1/events', cb)).status, 202);
    const cancelled = await eventually('the conversion cancelled', async () => {
      const d = (await deliveriesOf(ftd.id)).find(
        (x) => x.endpointId === ep.id && x.eventType === 'deposit.ftd',
      );
      return d?.status === 'cancelled' ? d : null;
    });
    assert.equal(cancelled.status, 'cancelled');
    // Its event workflow heard of it: the conversion's workflow completes without waiting out the hour.
    const result = await sys.client.workflow.getHandle(eventWorkflowId(op.id, ftd.id)).result();
    assert.ok(result);
    const rejected = await api('GET', `/v1/deliveries?eventType=commission.rejected&endpointId=${ep.id}`);
    assert.deepEqual(rejected.body.data, []);
    assert.equal(tracker.hits(p).length, 1, 'only the failed conversion attempt ever reached the tracker');
  });
});
