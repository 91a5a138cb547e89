import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../../src/db/new-id.js';
import { eventually } from '../support/eventually.js';
import { deposit, registration } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The console's pages as the API serves them (issue 18), and the REST routes added for them: the pages and
 * their bundle load nothing from elsewhere (they work offline) and carry no credential; the deliveries list
 * filters by affiliate and by a time window; an event names its customer's workflow; an endpoint's health.
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

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });

async function fetchText(path: string) {
  const res = await fetch(`${sys.baseUrl}${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Absolute URLs in a text, less XML namespace names (Preact's SVG, XLink and MathML namespaces: names, never fetched). */
function externalUrls(text: string): string[] {
  return [...text.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)]*/gi)]
    .map((m) => m[0])
    .filter(
      (u) =>
        !/^https?:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink|1999\/xhtml|XML\/1998\/namespace|1998\/Math\/MathML)/.test(
          u,
        ),
    );
}

describe('the console pages', () => {
  it('are served at /console and /portal with their bundle, and load nothing from elsewhere', async () => {
    for (const path of ['/console', '/portal']) {
      const page = await fetchText(path);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type')!, /^text\/html/);
      const csp = page.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      // Every src and href is on this origin.
      const refs = [...page.text.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
      assert.deepEqual(refs.sort(), ['/console/assets/app.css', '/console/assets/app.js']);
      assert.doesNotMatch(page.text, /<script>|<style>|style="/, 'nothing inline: the CSP forbids it');
    }
    const js = await fetchText('/console/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.ok(js.text.length > 1000);
    assert.deepEqual(externalUrls(js.text), [], 'the script names no other origin');
    const css = await fetchText('/console/assets/app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type')!, /^text\/css/);
    assert.deepEqual(externalUrls(css.text), [], 'the stylesheet loads no font or image from elsewhere');
    assert.doesNotMatch(css.text, /@import|url\(/);
    assert.equal((await fetchText('/console/assets/other.js')).status, 404);
  });

  it('keeps the API key out of URLs: the script sends it only as an Authorization header', async () => {
    const js = (await fetchText('/console/assets/app.js')).text;
    // One place builds the header; the key's storage is sessionStorage, never localStorage or a cookie.
    assert.match(js, /authorization=`Bearer \$\{/);
    assert.match(js, /sessionStorage/);
    assert.doesNotMatch(js, /localStorage|document\.cookie/);
    // A portal link's token is taken from the fragment and the fragment replaced.
    assert.match(js, /replaceState/);
  });
});

describe('REST routes the console reads', () => {
  it('lists deliveries by affiliate and by a [since, until) window; events name their customer workflow', async () => {
    const affiliateId = `aff-${randomBase62(6)}`;
    const put = await api('PUT', `/v1/affiliates/${affiliateId}`, {
      name: 'A',
      deal: { model: 'cpa', amount: '10.00', currency: 'EUR', holdPeriod: '30d', clawbackWindow: '90d' },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const mine = await api('POST', '/v1/endpoints', {
      url: rx.url('/mine'),
      eventTypes: ['deposit.completed'],
      affiliateId,
    });
    const everyone = await api('POST', '/v1/endpoints', {
      url: rx.url('/all'),
      eventTypes: ['deposit.completed'],
    });
    assert.equal(mine.status, 201);
    assert.equal(everyone.status, 201);
    const customer = `cus-${randomBase62(8)}`;
    const before = new Date().toISOString();
    const ftd = deposit(customer);
    for (const e of [registration(customer, { attribution: { affiliateId } }), ftd])
      assert.equal((await api('POST', '/v1/events', e)).status, 202);
    await eventually('both deliveries', async () => {
      const res = await api('GET', `/v1/deliveries?eventId=${ftd.id}`);
      return res.body.data.length === 2 ? true : undefined;
    });
    const after = new Date(Date.now() + 1000).toISOString();

    const byAffiliate = await api('GET', `/v1/deliveries?affiliateId=${affiliateId}&eventId=${ftd.id}`);
    assert.equal(byAffiliate.status, 200, JSON.stringify(byAffiliate.body));
    assert.deepEqual(
      byAffiliate.body.data.map((d: { endpointId: string }) => d.endpointId),
      [mine.body.id],
    );
    const inWindow = await api('GET', `/v1/deliveries?eventId=${ftd.id}&since=${before}&until=${after}`);
    assert.equal(inWindow.body.data.length, 2);
    const beforeWindow = await api('GET', `/v1/deliveries?eventId=${ftd.id}&until=${before}`);
    assert.equal(beforeWindow.status, 200, JSON.stringify(beforeWindow.body));
    assert.equal(beforeWindow.body.data.length, 0, 'until is exclusive of what came after it');

    const event = await api('GET', `/v1/events/${ftd.id}`);
    assert.equal(event.body.customerWorkflowId, `customer:${op.id}:${customer}`);
    assert.equal(event.body.workflowId, `event:${op.id}:${ftd.id}`);
  });

  it("tells an endpoint's health over 24 hours: attempts, success rate, the latest failure", async () => {
    rx.script('/flaky', [{ status: 503, body: 'busy' }]);
    const ep = await api('POST', '/v1/endpoints', {
      url: rx.url('/flaky'),
      eventTypes: ['customer.registered'],
      retryPolicy: { schedule: ['1s'], jitter: 0 },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const quiet = await api('GET', `/v1/endpoints/${ep.body.id}/health`);
    assert.equal(quiet.status, 200, JSON.stringify(quiet.body));
    assert.equal(quiet.body.attempts, 0);
    assert.equal(quiet.body.successRate, null);
    assert.equal(quiet.body.lastFailure, null);

    const event = registration(`cus-${randomBase62(8)}`, { attribution: { affiliateId: 'aff-none' } });
    assert.equal((await api('POST', '/v1/events', event)).status, 202);
    const delivery = await eventually('the retry to succeed', async () => {
      const res = await api('GET', `/v1/deliveries?eventId=${event.id}`);
      return res.body.data[0]?.status === 'succeeded' ? res.body.data[0] : undefined;
    });
    const health = await api('GET', `/v1/endpoints/${ep.body.id}/health`);
    assert.equal(health.body.window, '24h');
    assert.equal(health.body.attempts, 2);
    assert.equal(health.body.succeeded, 1);
    assert.equal(health.body.failed, 1);
    assert.equal(health.body.successRate, '0.5000');
    assert.equal(health.body.lastFailure.deliveryId, delivery.id);
    assert.equal(health.body.lastFailure.number, 1);
    assert.equal(health.body.lastFailure.statusCode, 503);
    assert.match(health.body.lastFailure.error, /503/);
    assert.equal(health.body.enabled, true);
    assert.equal(health.body.breaker, 'closed');

    const other = await sys.createOperator();
    const foreign = await sys.request('GET', `/v1/endpoints/${ep.body.id}/health`, { apiKey: other.apiKey });
    assert.equal(foreign.status, 404, "another operator's endpoint is not found");
  });

  it("notes an inbound source's requests: accepted, or refused and why, without the token", async () => {
    const created = await api('POST', '/v1/sources', { name: 'Platform', verification: { type: 'token' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, secret } = created.body as { id: string; secret: string };
    const send = (token: string, json: unknown) =>
      sys.request('POST', `/v1/inbound/${id}/${token}`, { json });
    const event = registration(`cus-${randomBase62(8)}`);
    assert.equal((await send(secret, event)).status, 202);
    assert.equal((await send(`${secret}x`, event)).status, 401);
    assert.equal((await send(secret, { ...event, id: 'evt-bad', type: 'no.such' })).status, 422);

    const rows = await eventually('three requests noted', async () => {
      const res = await api('GET', `/v1/sources/${id}/requests`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.data.length === 3 ? res.body.data : undefined;
    });
    // Newest first; each is noted as its answer goes out, so two close together may share a moment.
    const times = rows.map((r: any) => Date.parse(r.receivedAt));
    assert.deepEqual(
      times,
      [...times].sort((x, y) => y - x),
    );
    assert.deepEqual(
      rows
        .map((r: any) => [r.method, r.status, r.outcome, r.reason, r.eventIds])
        .sort((x: any[], y: any[]) => x[1] - y[1]),
      [
        ['POST', 202, 'accepted', null, [event.id]],
        ['POST', 401, 'refused', 'wrong_token', []],
        ['POST', 422, 'refused', 'validation_failed', ['evt-bad']],
      ],
    );
    assert.match(rows[0].id, /^ir_/);
    assert.ok(!JSON.stringify(rows).includes(secret), 'never the token');

    const paged = await api('GET', `/v1/sources/${id}/requests?limit=2`);
    assert.equal(paged.body.data.length, 2);
    const rest = await api('GET', `/v1/sources/${id}/requests?limit=2&cursor=${paged.body.nextCursor}`);
    assert.deepEqual(
      rest.body.data.map((r: any) => r.id),
      [rows[2].id],
    );
    const other = await sys.createOperator();
    const foreign = await sys.request('GET', `/v1/sources/${id}/requests`, { apiKey: other.apiKey });
    assert.equal(foreign.status, 404, "another operator's source is not found");
  });

  it('logs each attempt with its request as sent, secrets masked', async () => {
    const ep = await api('POST', '/v1/endpoints', {
      url: rx.url('/sent'),
      eventTypes: ['customer.registered'],
      headers: { 'x-api-key': 'topsecret-123' },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const event = registration(`cus-${randomBase62(8)}`, { attribution: { affiliateId: 'aff-none' } });
    assert.equal((await api('POST', '/v1/events', event)).status, 202);
    const [received] = await rx.waitFor('/sent', 1);
    const detail = await eventually('the attempt logged', async () => {
      const list = await api('GET', `/v1/deliveries?eventId=${event.id}&endpointId=${ep.body.id}`);
      const id = list.body.data[0]?.id;
      const res = id ? await api('GET', `/v1/deliveries/${id}`) : undefined;
      return res?.body.attempts?.length ? res.body : undefined;
    });
    const request = detail.attempts[0].request;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, rx.url('/sent'));
    assert.equal(request.headers['webhook-id'], detail.id);
    assert.equal(request.headers['webhook-timestamp'], received!.headers['webhook-timestamp']);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['webhook-signature'], 'v1,[masked]');
    assert.equal(request.headers['x-api-key'], '[masked]');
    assert.equal(request.body, received!.body);
    assert.equal(request.bodyBytes, Buffer.byteLength(received!.body));
    const text = JSON.stringify(detail);
    assert.ok(!text.includes('topsecret-123'), 'never the endpoint’s own header value');
    const signature = String(received!.headers['webhook-signature']).split(',')[1]!;
    assert.ok(!text.includes(signature), 'never the signature');
  });

  it('lists the operator’s affiliates, newest first, by status, page by page', async () => {
    const mine = await sys.createOperator();
    const put = (affiliateId: string, status: string) =>
      sys.request('PUT', `/v1/affiliates/${affiliateId}`, {
        apiKey: mine.apiKey,
        json: {
          name: affiliateId,
          status,
          deal: { model: 'revshare', percent: '25', holdPeriod: '30d', clawbackWindow: '90d' },
        },
      });
    for (const [id, status] of [
      ['aff-1', 'active'],
      ['aff-2', 'suspended'],
      ['aff-3', 'active'],
    ] as const)
      assert.equal((await put(id, status)).status, 201);
    const list = (q: string) => sys.request('GET', `/v1/affiliates${q}`, { apiKey: mine.apiKey });
    const all = await list('');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(
      all.body.data.map((a: any) => [a.affiliateId, a.status, a.deal.model]),
      [
        ['aff-3', 'active', 'revshare'],
        ['aff-2', 'suspended', 'revshare'],
        ['aff-1', 'active', 'revshare'],
      ],
    );
    const active = await list('?status=active');
    assert.deepEqual(
      active.body.data.map((a: any) => a.affiliateId),
      ['aff-3', 'aff-1'],
    );
    const first = await list('?limit=2');
    const second = await list(`?limit=2&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      [...first.body.data, ...second.body.data].map((a: any) => a.affiliateId),
      ['aff-3', 'aff-2', 'aff-1'],
    );
    assert.equal(second.body.nextCursor, null);
    const others = await api('GET', '/v1/affiliates');
    assert.ok(!others.body.data.some((a: any) => ['aff-1', 'aff-2', 'aff-3'].includes(a.affiliateId)));
  });
});
