import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../../src/db/new-id.js';
import { createLogger } from '../../src/log.js';
import { eventually } from '../support/eventually.js';
import { deposit, registration } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Affiliate portal links, through the real API, PostgreSQL and Temporal: an operator mints a read-only token
 * for one affiliate, and that token opens its affiliate's endpoints, deliveries, attempt logs, commissions
 * and balance, and nothing else of anyone's, on any route the app serves.
 */

type Operator = { id: string; apiKey: string };
const logLines: string[] = [];
let sys: System;
let rx: Receiver;
let op: Operator;
let other: Operator;
const A = `aff-a-${randomBase62(6)}`;
const B = `aff-b-${randomBase62(6)}`;
/** Ids of A's own data, and of everything A's token must never show. */
const mine = { endpoint: '', deliveries: [] as string[], commissions: [] as string[] };
const foreign = { endpoints: [] as string[], deliveries: [] as string[], commissions: [] as string[] };
const minted: string[] = [];
let tokenA = '';
let linkA = '';

const api = (who: Operator, method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: who.apiKey, ...(json === undefined ? {} : { json }) });
const portal = (token: string, method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: token, ...(json === undefined ? {} : { json }) });

async function mint(affiliateId: string, body: Record<string, unknown> = {}, who: Operator = op) {
  const res = await api(who, 'POST', `/v1/affiliates/${affiliateId}/portal-links`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  minted.push(res.body.token);
  return res.body as { id: string; token: string; expiresAt: string; scope: string[]; status: string };
}

const CPA = { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod: '30d', clawbackWindow: '90d' };

/** An affiliate with a CPA deal, an endpoint scoped to it, and one customer's registration and FTD. */
async function affiliateWithTraffic(who: Operator, affiliateId: string, path: string) {
  const put = await api(who, 'PUT', `/v1/affiliates/${affiliateId}`, { name: affiliateId, deal: CPA });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const ep = await api(who, 'POST', '/v1/endpoints', { url: rx.url(path), eventTypes: ['*'], affiliateId });
  assert.equal(ep.status, 201, JSON.stringify(ep.body));
  const customer = `cus-${randomBase62(8)}`;
  const attribution = { affiliateId, clickId: 'c-1' };
  for (const event of [registration(customer, { attribution }), deposit(customer)]) {
    const res = await api(who, 'POST', '/v1/events', event);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  }
  const commissions = await eventually(`a commission for ${affiliateId}`, async () => {
    const res = await api(who, 'GET', `/v1/affiliates/${affiliateId}/commissions`);
    return res.body.data?.length ? (res.body.data as { id: string }[]) : undefined;
  });
  const deliveries = await eventually(`deliveries to ${path}`, async () => {
    const res = await api(who, 'GET', `/v1/deliveries?endpointId=${ep.body.id}`);
    const data = res.body.data as { id: string; status: string }[];
    return data.length >= 2 && data.every((d) => d.status === 'succeeded') ? data : undefined;
  });
  return {
    endpoint: ep.body.id as string,
    deliveries: deliveries.map((d) => d.id),
    commissions: commissions.map((c) => c.id),
  };
}

before(async () => {
  const logger = createLogger('debug', 'portal-test', { write: (line: string) => void logLines.push(line) });
  sys = await startSystem({ logger });
  rx = await startReceiver();
  op = await sys.createOperator();
  other = await sys.createOperator();
  const a = await affiliateWithTraffic(op, A, '/a');
  Object.assign(mine, a);
  // B, another affiliate of the same operator; and another operator's affiliate with A's very id.
  for (const [who, affiliateId, path] of [
    [op, B, '/b'],
    [other, A, '/x'],
  ] as const) {
    const f = await affiliateWithTraffic(who, affiliateId, path);
    foreign.endpoints.push(f.endpoint);
    foreign.deliveries.push(...f.deliveries);
    foreign.commissions.push(...f.commissions);
  }
  // An operator-wide endpoint (no affiliate): it gets A's events too, but it is the operator's, not A's.
  const wide = await api(op, 'POST', '/v1/endpoints', { url: rx.url('/all'), eventTypes: ['*'] });
  foreign.endpoints.push(wide.body.id);
  await api(
    op,
    'POST',
    '/v1/events',
    registration(`cus-${randomBase62(8)}`, { attribution: { affiliateId: A } }),
  );
  const wideDeliveries = await eventually('a delivery to the operator-wide endpoint', async () => {
    const res = await api(op, 'GET', `/v1/deliveries?endpointId=${wide.body.id}`);
    return res.body.data.length ? (res.body.data as { id: string }[]) : undefined;
  });
  foreign.deliveries.push(...wideDeliveries.map((d) => d.id));
  const link = await mint(A, { expiresIn: '2h' });
  tokenA = link.token;
  linkA = link.id;
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

/** Every id, of an operator, affiliate or resource, that A's token must never be answered. */
function assertNothingForeign(body: unknown, where: string) {
  const text = JSON.stringify(body ?? null);
  for (const id of [
    B,
    op.id,
    other.id,
    ...foreign.endpoints,
    ...foreign.deliveries,
    ...foreign.commissions,
  ]) {
    assert.ok(!text.includes(id), `${where} shows ${id}: ${text.slice(0, 300)}`);
  }
}

describe('minting, listing and revoking portal links', () => {
  it('mints a token shown once, with its expiry and the default scope; lists links without tokens', async () => {
    const link = await mint(A);
    assert.match(link.token, /^ahp_[A-Za-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(link.id, /^pl_/);
    assert.deepEqual(link.scope, ['endpoints', 'deliveries', 'commissions', 'test']);
    const hours = (Date.parse(link.expiresAt) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `default expiry 24h, got ${hours}h`);
    const list = await api(op, 'GET', `/v1/affiliates/${A}/portal-links`);
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((l: { id: string }) => l.id === link.id));
    // The secret is everything after `ahp_<id>_`: it may itself hold '_', so split('_')[2] could be two letters.
    const secret = link.token.slice('ahp_'.length + 17);
    assert.equal(secret.length, 43);
    assert.ok(!JSON.stringify(list.body).includes(secret), 'the list shows no token');
    const { rows } = await sys.pool.query('SELECT secret_hash FROM portal_links WHERE id = $1', [link.id]);
    assert.ok(!rows[0].secret_hash.toString('utf8').includes(secret), 'only a hash kept');
  });

  it('answers 404 for an unknown affiliate or another operator’s, and 422 for bad input, storing nothing', async () => {
    const count = async () =>
      (await sys.pool.query('SELECT count(*)::int AS n FROM portal_links')).rows[0].n as number;
    const before = await count();
    assert.equal((await api(op, 'POST', '/v1/affiliates/nobody/portal-links', {})).status, 404);
    assert.equal((await api(other, 'POST', `/v1/affiliates/${B}/portal-links`, {})).status, 404);
    for (const [body, path] of [
      [{ expiresIn: '31d' }, 'expiresIn'],
      [{ expiresIn: '10s' }, 'expiresIn'],
      [{ expiresIn: 'soon' }, 'expiresIn'],
      [{ scope: ['everything'] }, 'scope.0'],
      [{ scope: [] }, 'scope'],
      [{ surprise: true }, 'surprise'],
    ] as const) {
      const res = await api(op, 'POST', `/v1/affiliates/${A}/portal-links`, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === path),
        JSON.stringify(res.body),
      );
    }
    assert.equal(await count(), before);
  });

  it('revokes a link at once: the next request with its token is 401; revoking again is a no-op', async () => {
    const link = await mint(A);
    assert.equal((await portal(link.token, 'GET', '/v1/portal/me')).status, 200);
    const del = await api(op, 'DELETE', `/v1/affiliates/${A}/portal-links/${link.id}`);
    assert.equal(del.status, 204);
    const refused = await portal(link.token, 'GET', '/v1/portal/me');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'unauthorized');
    assert.equal((await api(op, 'DELETE', `/v1/affiliates/${A}/portal-links/${link.id}`)).status, 204);
    assert.equal((await api(other, 'DELETE', `/v1/affiliates/${A}/portal-links/${link.id}`)).status, 404);
    assert.equal((await api(op, 'DELETE', `/v1/affiliates/${A}/portal-links/pl_nothing`)).status, 404);
    const list = await api(op, 'GET', `/v1/affiliates/${A}/portal-links`);
    assert.equal(list.body.data.find((l: { id: string }) => l.id === link.id).status, 'revoked');
  });

  it('refuses an expired token with 401', async () => {
    const link = await mint(A, { expiresIn: '1m' });
    assert.equal((await portal(link.token, 'GET', '/v1/portal/me')).status, 200);
    // Its minute, passed: the clock is PostgreSQL's, so the row is moved rather than the test waiting.
    await sys.pool.query(`UPDATE portal_links SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      link.id,
    ]);
    assert.equal((await portal(link.token, 'GET', '/v1/portal/me')).status, 401);
    const list = await api(op, 'GET', `/v1/affiliates/${A}/portal-links`);
    assert.equal(list.body.data.find((l: { id: string }) => l.id === link.id).status, 'expired');
  });

  it('refuses a forged secret, an API key and no token on portal routes with 401', async () => {
    const forged = `${tokenA.slice(0, -1)}${tokenA.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [forged, op.apiKey, '']) {
      const res = await portal(token, 'GET', '/v1/portal/me');
      assert.equal(res.status, 401, token);
      assert.equal(res.body.error.code, 'unauthorized');
    }
  });

  it('holds a link to its scope: a route outside it answers 403 portal_scope_missing', async () => {
    const link = await mint(A, { scope: ['commissions'] });
    assert.equal((await portal(link.token, 'GET', '/v1/portal/commissions')).status, 200);
    for (const [method, path] of [
      ['GET', '/v1/portal/deliveries'],
      ['GET', '/v1/portal/endpoints'],
      ['POST', `/v1/portal/endpoints/${mine.endpoint}/test`],
    ] as const) {
      const res = await portal(link.token, method, path);
      assert.equal(res.status, 403, path);
      assert.equal(res.body.error.code, 'portal_scope_missing');
    }
  });
});

describe('what a portal token for affiliate A sees', () => {
  it('its endpoints, deliveries with their attempt logs, commissions and balance, and only those', async () => {
    const me = await portal(tokenA, 'GET', '/v1/portal/me');
    assert.equal(me.body.affiliateId, A);
    assert.equal(me.body.link.id, linkA);

    const endpoints = await portal(tokenA, 'GET', '/v1/portal/endpoints');
    assert.deepEqual(
      endpoints.body.data.map((e: { id: string }) => e.id),
      [mine.endpoint],
    );
    assert.equal(endpoints.body.data[0].secret, undefined);
    assert.equal(endpoints.body.data[0].headers, undefined);

    const deliveries = await portal(tokenA, 'GET', '/v1/portal/deliveries');
    const ids = deliveries.body.data.map((d: { id: string }) => d.id);
    for (const id of mine.deliveries) assert.ok(ids.includes(id), `A's delivery ${id} listed`);
    assert.ok(deliveries.body.data.every((d: { endpointId: string }) => d.endpointId === mine.endpoint));
    assert.equal(deliveries.body.data[0].workflowId, undefined, 'no operator workflow ids');

    const detail = await portal(tokenA, 'GET', `/v1/portal/deliveries/${mine.deliveries[0]}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.attempts[0].statusCode, 200);

    const commissions = await portal(tokenA, 'GET', '/v1/portal/commissions');
    assert.deepEqual(
      commissions.body.data.map((c: { id: string }) => c.id).sort(),
      [...mine.commissions].sort(),
    );
    const balance = await portal(tokenA, 'GET', '/v1/portal/balance');
    assert.equal(balance.body.balances.length, 1);
    assert.equal(balance.body.balances[0].currency, 'EUR');
    assert.match(balance.body.balances[0].pending, /^100(\.0+)?$/);
    for (const res of [me, endpoints, deliveries, detail, commissions, balance])
      assertNothingForeign(res.body, 'A');
  });

  it('another affiliate’s, the operator’s and another operator’s resources are 404', async () => {
    for (const id of foreign.endpoints) {
      assert.equal((await portal(tokenA, 'GET', `/v1/portal/endpoints/${id}`)).status, 404, id);
      assert.equal((await portal(tokenA, 'POST', `/v1/portal/endpoints/${id}/test`)).status, 404, id);
      const filtered = await portal(tokenA, 'GET', `/v1/portal/deliveries?endpointId=${id}`);
      assert.deepEqual(filtered.body.data, [], id);
    }
    for (const id of foreign.deliveries) {
      assert.equal((await portal(tokenA, 'GET', `/v1/portal/deliveries/${id}`)).status, 404, id);
    }
  });

  it('sends a test webhook to its own endpoint', async () => {
    const before = rx.requests('/a').length;
    const res = await portal(tokenA, 'POST', `/v1/portal/endpoints/${mine.endpoint}/test`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.eventType, 'webhook.test');
    const [got] = (await rx.waitFor('/a', before + 1)).slice(before);
    assert.equal(JSON.parse(got!.body).type, 'webhook.test');
    assertNothingForeign(res.body, 'test send');
  });

  it('after a move of its endpoint to B, B’s link does not show A’s past deliveries', async () => {
    const moved = await api(op, 'POST', '/v1/endpoints', {
      url: rx.url('/moved'),
      eventTypes: ['*'],
      affiliateId: A,
    });
    await api(
      op,
      'POST',
      '/v1/events',
      registration(`cus-${randomBase62(8)}`, { attribution: { affiliateId: A } }),
    );
    const [delivery] = await eventually('a delivery to the endpoint about to move', async () => {
      const res = await api(op, 'GET', `/v1/deliveries?endpointId=${moved.body.id}`);
      return res.body.data.length ? (res.body.data as { id: string }[]) : undefined;
    });
    const asA = await portal(tokenA, 'GET', `/v1/portal/deliveries/${delivery!.id}`);
    assert.equal(asA.status, 200);
    assert.equal((await api(op, 'PATCH', `/v1/endpoints/${moved.body.id}`, { affiliateId: B })).status, 200);
    const tokenB = (await mint(B)).token;
    assert.equal((await portal(tokenB, 'GET', `/v1/portal/deliveries/${delivery!.id}`)).status, 404);
    const listed = await portal(tokenB, 'GET', `/v1/portal/deliveries?endpointId=${moved.body.id}`);
    assert.deepEqual(listed.body.data, []);
    assert.equal((await portal(tokenA, 'GET', `/v1/portal/deliveries/${delivery!.id}`)).status, 404);
  });
});

/** A concrete path for an Express route path: each parameter gets an id of A's where one fits. */
function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string, offset: number) => {
    const before = path.slice(0, offset);
    if (name === 'affiliateId') return A;
    if (name === 'linkId') return linkA;
    if (before.endsWith('/endpoints/')) return mine.endpoint;
    if (before.endsWith('/deliveries/')) return mine.deliveries[0]!;
    if (before.endsWith('/commissions/')) return mine.commissions[0]!;
    if (before.endsWith('/operators/')) return op.id;
    if (before.endsWith('/fx-rates/')) return '2026-12-01';
    return `x${randomBase62(8)}`;
  });
}

/** Every method and path the Express app answers, read from its router stacks (nested routers included). */
function expressRoutes(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          out.push({ method: method.toUpperCase(), path: layer.route.path });
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((sys.app as any).router.stack);
  return out;
}

describe('every route the app serves, walked with A’s portal token', () => {
  it('is a portal route answering A’s data only, or refuses the token (403 portal_token_refused)', async () => {
    const routes = expressRoutes();
    const doc = (await sys.request('GET', '/v1/openapi.json')).body;
    // The walk sees at least every documented route, so a route added later is walked too.
    for (const [path, methods] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(methods)) {
        const express = path.replace(/\{(\w+)\}/g, ':$1');
        assert.ok(
          routes.some((r) => r.path === express && r.method === method.toUpperCase()),
          `${method} ${path} walked`,
        );
      }
    }
    let portalRoutes = 0;
    for (const { method, path } of routes) {
      const url = concrete(path);
      const res = await portal(
        tokenA,
        method,
        url,
        ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined,
      );
      const where = `${method} ${path}`;
      if (path.startsWith('/v1/portal/')) {
        portalRoutes++;
        assert.ok(
          res.status >= 200 && res.status < 300,
          `${where}: ${res.status} ${JSON.stringify(res.body)}`,
        );
        assertNothingForeign(res.body, where);
      } else {
        assert.equal(res.status, 403, `${where} refused: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'portal_token_refused', where);
      }
    }
    assert.ok(portalRoutes >= 8, `portal routes walked: ${portalRoutes}`);
    assert.ok(routes.length >= 50, `routes walked: ${routes.length}`);
  });
});

describe('logs', () => {
  it('never carry a portal token, nor its secret part', () => {
    assert.ok(
      logLines.some((l) => l.includes('/v1/portal/')),
      'the portal requests were logged',
    );
    assert.ok(minted.length >= 5);
    for (const token of minted) {
      const secret = token.split('_').slice(2).join('_');
      assert.ok(
        !logLines.some((l) => l.includes(secret)),
        `a log line carries the secret of ${token.slice(0, 8)}…`,
      );
    }
  });
});
