/**
 * Endpoints (docs/api-v1.md section 4): where the orchestrator sends. CRUD with the list conventions of section 1,
 * validation, the SSRF guard at save time, tenancy, and signing secrets with their rotation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret } from '../../src/delivery/secrets.js';
import type { DeliveryView } from '../../workflows/definitions.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Received, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

type Operator = { id: string; apiKey: string };
type EndpointOut = {
  id: string;
  createdAt: string;
  updatedAt: string;
  secret?: string;
  [field: string]: unknown;
};

let sys: System;
let rx: Receiver;
/** Sends events: every endpoint it owns is scoped to an affiliate, so tests never receive each other's. */
let op: Operator;
/** Sends no events, so its endpoints may be unscoped. */
let quiet: Operator;
/** Another tenant: must never see or touch `op`'s endpoints. */
let stranger: Operator;

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
  quiet = await sys.createOperator();
  stranger = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

function api(method: string, path: string, json?: unknown, who: Operator = op, on: System = sys) {
  return on.request(method, path, { apiKey: who.apiKey, json });
}

/** Scoped to an affiliate of its own unless the fields say otherwise (`affiliateId: undefined` for none). */
async function createEndpoint(fields: Record<string, unknown>, who: Operator = op, on: System = sys) {
  const body = { eventTypes: ['*'], affiliateId: uniqueId('aff'), ...fields };
  const res = await api('POST', '/v1/endpoints', body, who, on);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as EndpointOut & { secret: string };
}

/** Submits an event and returns the handle of the workflow named in the 202 answer. */
async function sendEvent(event: Record<string, unknown>, who: Operator = op, on: System = sys) {
  const res = await api('POST', '/v1/events', event, who, on);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return on.client.workflow.getHandle(res.body.workflowId as string);
}

/** Each test its own affiliate, so endpoints scoped to it only see that test's events. */
function scoped() {
  const affiliateId = uniqueId('aff');
  const event = registration(uniqueId('player'), { attribution: { affiliateId } });
  return { affiliateId, event, path: `/hook-${affiliateId}` };
}

/** The `details[].path` of a 422 answer. */
function invalidPaths(res: { status: number; body: any }): string[] {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'validation_failed');
  return res.body.error.details.map((d: { path: string }) => d.path);
}

function signaturesOf(req: Received): string[] {
  return String(req.headers['webhook-signature']).split(' ');
}

function verifies(secret: string, req: Received): boolean {
  try {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

function assertAbout(actual: string, expectedMs: number, toleranceMs: number) {
  const diff = Math.abs(new Date(actual).getTime() - expectedMs);
  assert.ok(
    diff <= toleranceMs,
    `${actual} should be within ${toleranceMs} ms of ${new Date(expectedMs).toISOString()}`,
  );
}

describe('creating and reading an endpoint', () => {
  it('create answers 201 with the whole endpoint, its defaults and a whsec_ signing secret', async () => {
    const { affiliateId, path } = scoped();
    const res = await api('POST', '/v1/endpoints', {
      url: rx.url(path),
      description: 'Affiliate 7 tracker',
      eventTypes: ['deposit.ftd', 'commission.*'],
      affiliateId,
      headers: { 'X-Partner': '7' },
      retryPolicy: { schedule: ['5s', '5m'] },
      timeout: '15000ms',
      rateLimitPerSecond: 50,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { id, secret, createdAt, updatedAt, ...rest } = res.body;
    assert.match(id, /^ep_[A-Za-z0-9]+$/);
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(rest, {
      url: rx.url(path),
      description: 'Affiliate 7 tracker',
      eventTypes: ['deposit.ftd', 'commission.*'],
      affiliateId,
      format: 'webhook',
      headers: { 'X-Partner': '7' },
      retryPolicy: { schedule: ['5s', '5m'] },
      timeout: '15s',
      rateLimitPerSecond: 50,
      // No filter: every event of its types.
      filter: null,
      enabled: true,
      disabledReason: null,
      // A new endpoint's breaker is closed: nothing has failed yet.
      breaker: { state: 'closed', since: null, nextProbeAt: null, consecutiveFailures: 0 },
    });
    assertAbout(createdAt, Date.now(), 10_000);
    assert.equal(updatedAt, createdAt);
  });

  it("the README's example body, sent as written, creates the endpoint it describes", async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**Creating an endpoint.**'));
    assert.ok(section.length < readme.length, 'the README has a "Creating an endpoint." paragraph');
    const body = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as Record<string, unknown>;
    // `quiet` sends no events, so the example's affiliate receives nothing here.
    const res = await api('POST', '/v1/endpoints', body, quiet);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    for (const [field, value] of Object.entries(body)) assert.deepEqual(res.body[field], value, field);
    assert.match(res.body.secret, /^whsec_/);
    assert.match(section.slice(0, section.indexOf('```json')), /POST \/v1\/endpoints/);
  });

  it('omitted optional fields come back as their defaults: webhook, enabled, a 15s timeout, no policy', async () => {
    const created = await createEndpoint({ url: rx.url('/defaults'), affiliateId: undefined }, quiet);
    assert.equal(created.format, 'webhook');
    assert.equal(created.enabled, true);
    assert.equal(created.timeout, '15s');
    assert.equal(created.description, null);
    assert.equal(created.affiliateId, null);
    assert.deepEqual(created.headers, {});
    assert.equal(created.retryPolicy, null);
    assert.equal(created.rateLimitPerSecond, null);
  });

  it('a timeout is returned in the largest unit that divides it exactly', async () => {
    assert.equal((await createEndpoint({ url: rx.url('/t'), timeout: '60000ms' })).timeout, '1m');
    assert.equal((await createEndpoint({ url: rx.url('/t'), timeout: '1500ms' })).timeout, '1500ms');
  });

  it('GET returns the same endpoint without its secret', async () => {
    const created = await createEndpoint({ url: rx.url('/get-one'), description: 'read me' });
    const got = await api('GET', `/v1/endpoints/${created.id}`);
    assert.equal(got.status, 200);
    assert.equal('secret' in got.body, false);
    const { secret: _secret, ...withoutSecret } = created;
    assert.deepEqual(got.body, withoutSecret);
  });

  it('GET of an id that does not exist is 404 not_found', async () => {
    const res = await api('GET', '/v1/endpoints/ep_doesNotExist0000000');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });
});

describe('listing endpoints', () => {
  it('lists newest first, pages with limit and nextCursor, and shows no secrets', async () => {
    const lister = await sys.createOperator();
    const a = await createEndpoint({ url: rx.url('/a') }, lister);
    const b = await createEndpoint({ url: rx.url('/b') }, lister);
    const c = await createEndpoint({ url: rx.url('/c') }, lister);

    const first = await api('GET', '/v1/endpoints?limit=2', undefined, lister);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.data.map((e: EndpointOut) => e.id),
      [c.id, b.id],
    );
    assert.equal(typeof first.body.nextCursor, 'string');
    assert.ok(first.body.data.every((e: EndpointOut) => !('secret' in e)));

    const second = await api(
      'GET',
      `/v1/endpoints?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      undefined,
      lister,
    );
    assert.equal(second.status, 200);
    assert.deepEqual(
      second.body.data.map((e: EndpointOut) => e.id),
      [a.id],
    );
    assert.equal(second.body.nextCursor, null);

    const all = await api('GET', '/v1/endpoints', undefined, lister);
    assert.deepEqual(
      all.body.data.map((e: EndpointOut) => e.id),
      [c.id, b.id, a.id],
    );
    assert.equal(all.body.nextCursor, null);
  });

  it('endpoints created within the same millisecond are neither skipped nor repeated by paging', async () => {
    const lister = await sys.createOperator();
    const ids: string[] = [];
    for (const p of ['/x', '/y', '/z']) ids.push((await createEndpoint({ url: rx.url(p) }, lister)).id);
    // Concurrent creations can share a millisecond; PostgreSQL keeps microseconds, the API shows milliseconds.
    await sys.pool.query(
      `UPDATE endpoints SET created_at = '2026-01-01T00:00:00.123Z'::timestamptz + (ord * interval '100 microseconds')
         FROM unnest($1::text[]) WITH ORDINALITY AS t(id, ord) WHERE endpoints.id = t.id`,
      [ids],
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const res = await api(
        'GET',
        `/v1/endpoints?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined,
        lister,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.data.map((e: EndpointOut) => e.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual([...seen].sort(), [...ids].sort());
  });

  it('a cursor the API did not issue, and a limit outside 1..500, are 422', async () => {
    assert.deepEqual(invalidPaths(await api('GET', '/v1/endpoints?cursor=not-a-cursor')), ['query.cursor']);
    assert.deepEqual(invalidPaths(await api('GET', '/v1/endpoints?limit=0')), ['query.limit']);
    assert.deepEqual(invalidPaths(await api('GET', '/v1/endpoints?limit=501')), ['query.limit']);
  });
});

describe('changing an endpoint', () => {
  it('PATCH changes the given fields, keeps the others, and null clears an optional field', async () => {
    const { affiliateId, path } = scoped();
    const created = await createEndpoint(
      {
        url: rx.url(path),
        description: 'Affiliate 7 tracker',
        eventTypes: ['deposit.ftd'],
        affiliateId,
        headers: { 'X-Partner': '7' },
        retryPolicy: { schedule: ['1s'] },
        timeout: '10s',
      },
      quiet,
    );
    const patch = (json: unknown) => api('PATCH', `/v1/endpoints/${created.id}`, json, quiet);

    const res = await patch({
      eventTypes: ['commission.*', 'deposit.completed'],
      description: null,
      timeout: '30s',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.eventTypes, ['commission.*', 'deposit.completed']);
    assert.equal(res.body.description, null);
    assert.equal(res.body.timeout, '30s');
    // Untouched fields stay as they were.
    assert.equal(res.body.url, rx.url(path));
    assert.equal(res.body.affiliateId, affiliateId);
    assert.deepEqual(res.body.headers, { 'X-Partner': '7' });
    assert.deepEqual(res.body.retryPolicy, { schedule: ['1s'] });
    assert.equal('secret' in res.body, false);
    assert.ok(res.body.updatedAt >= created.updatedAt, 'updatedAt never goes back');
    assert.equal(res.body.createdAt, created.createdAt);

    const got = await api('GET', `/v1/endpoints/${created.id}`, undefined, quiet);
    assert.deepEqual(got.body, res.body);

    const cleared = await patch({
      headers: null,
      retryPolicy: null,
      timeout: null,
      affiliateId: null,
    });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.deepEqual(cleared.body.headers, {});
    assert.equal(cleared.body.retryPolicy, null);
    assert.equal(cleared.body.timeout, '15s', 'a cleared timeout is the default again');
    assert.equal(cleared.body.affiliateId, null);
  });

  it('disabling records a reason, and enabling again clears it', async () => {
    const created = await createEndpoint({ url: rx.url('/toggle') });
    const off = await api('PATCH', `/v1/endpoints/${created.id}`, { enabled: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.enabled, false);
    assert.equal(typeof off.body.disabledReason, 'string');

    const on = await api('PATCH', `/v1/endpoints/${created.id}`, { enabled: true });
    assert.equal(on.status, 200);
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.disabledReason, null);
  });

  it('PATCH validates like create', async () => {
    const created = await createEndpoint({ url: rx.url('/patch-invalid') });
    const at = `/v1/endpoints/${created.id}`;
    assert.deepEqual(invalidPaths(await api('PATCH', at, { url: 'ftp://x' })), ['url']);
    assert.deepEqual(invalidPaths(await api('PATCH', at, { eventTypes: [] })), ['eventTypes']);
    assert.deepEqual(invalidPaths(await api('PATCH', at, { timeout: '2m' })), ['timeout']);
    // format is fixed at creation: not a field PATCH knows.
    assert.equal(invalidPaths(await api('PATCH', at, { format: 'postback' })).length, 1);
    const unchanged = await api('GET', at);
    assert.equal(unchanged.body.updatedAt, created.updatedAt);
  });
});

describe('deleting an endpoint', () => {
  it('DELETE answers 204; the endpoint is then 404 and gone from the list', async () => {
    const created = await createEndpoint({ url: rx.url('/delete-me') });
    const del = await api('DELETE', `/v1/endpoints/${created.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);

    assert.equal((await api('GET', `/v1/endpoints/${created.id}`)).status, 404);
    assert.equal((await api('GET', `/v1/endpoints/${created.id}/secret`)).status, 404);
    assert.equal((await api('PATCH', `/v1/endpoints/${created.id}`, { enabled: true })).status, 404);
    assert.equal((await api('DELETE', `/v1/endpoints/${created.id}`)).status, 404, 'deleting twice');
    const list = await api('GET', '/v1/endpoints?limit=500');
    assert.ok(!list.body.data.some((e: EndpointOut) => e.id === created.id));
  });

  it('a deleted endpoint receives no new events, while a live one beside it does', async () => {
    const { affiliateId, event, path } = scoped();
    const deleted = await createEndpoint({ url: rx.url(`${path}-deleted`), affiliateId });
    const live = await createEndpoint({ url: rx.url(`${path}-live`), affiliateId });
    assert.equal((await api('DELETE', `/v1/endpoints/${deleted.id}`)).status, 204);

    const result = await (await sendEvent(event)).result();
    assert.deepEqual(
      result.deliveries.map((d: DeliveryView) => [d.endpointId, d.status]),
      [[live.id, 'succeeded']],
    );
    assert.equal(rx.requests(`${path}-live`).length, 1);
    assert.equal(rx.requests(`${path}-deleted`).length, 0);
  });

  it('deleting an endpoint also stops the retries it has pending', async () => {
    const { affiliateId, event, path } = scoped();
    rx.script(path, [{ status: 500 }]);
    const endpoint = await createEndpoint({
      url: rx.url(path),
      affiliateId,
      retryPolicy: { schedule: ['2s'], jitter: 0 },
    });
    const handle = await sendEvent(event);
    await rx.waitFor(path, 1);
    assert.equal((await api('DELETE', `/v1/endpoints/${endpoint.id}`)).status, 204);

    const result = await handle.result();
    assert.deepEqual(
      result.deliveries.map((d: DeliveryView) => [d.endpointId, d.status]),
      [[endpoint.id, 'cancelled']],
    );
    assert.equal(rx.requests(path).length, 1, 'no attempt after the deletion');
  });
});

describe('validation', () => {
  const invalid: [string, Record<string, unknown>, string][] = [
    ['a URL that is not http(s)', { url: 'ftp://x' }, 'url'],
    ['a missing URL', { url: undefined }, 'url'],
    ['an empty eventTypes', { eventTypes: [] }, 'eventTypes'],
    [
      'an event type pattern other than exact, prefix.* or *',
      { eventTypes: ['deposit.ftd', '*.ftd'] },
      'eventTypes.1',
    ],
    [
      'a header the orchestrator sets (webhook-signature)',
      { headers: { 'Webhook-Signature': 'v1,x' } },
      'headers',
    ],
    ['a retry schedule with no waits', { retryPolicy: { schedule: [] } }, 'retryPolicy'],
    [
      'a retry schedule with a bad duration',
      { retryPolicy: { schedule: ['5s', '5 minutes'] } },
      'retryPolicy',
    ],
    ['a timeout over 60s', { timeout: '2m' }, 'timeout'],
    ['a timeout that is not a duration', { timeout: '15' }, 'timeout'],
    ['an unknown format', { format: 'email' }, 'format'],
    ['a postback endpoint without its postback settings', { format: 'postback' }, 'postback'],
  ];
  for (const [what, fields, path] of invalid) {
    it(`refuses ${what}: 422 with details naming ${path}`, async () => {
      const body = { url: rx.url('/valid'), eventTypes: ['*'], ...fields };
      const paths = invalidPaths(await api('POST', '/v1/endpoints', body, quiet));
      assert.ok(
        paths.some((p) => p === path || p.startsWith(`${path}.`)),
        `expected a detail at ${path}, got ${JSON.stringify(paths)}`,
      );
    });
  }

  it('refuses an unknown field, naming it', async () => {
    const body = { url: rx.url('/valid'), eventTypes: ['*'], colour: 'red' };
    const res = await api('POST', '/v1/endpoints', body, quiet);
    invalidPaths(res);
    assert.match(JSON.stringify(res.body.error.details), /colour/);
  });

  it('saves nothing when refusing', async () => {
    const careful = await sys.createOperator();
    const res = await api('POST', '/v1/endpoints', { url: 'ftp://x', eventTypes: ['*'] }, careful);
    assert.equal(res.status, 422);
    const list = await api('GET', '/v1/endpoints', undefined, careful);
    assert.deepEqual(list.body, { data: [], nextCursor: null });
  });

  it('without an API key, or with a wrong one, every endpoint route is 401', async () => {
    const created = await createEndpoint({ url: rx.url('/auth') });
    for (const apiKey of [undefined, 'not-a-key']) {
      const create = await sys.request('POST', '/v1/endpoints', {
        apiKey,
        json: { url: rx.url('/auth'), eventTypes: ['*'] },
      });
      assert.equal(create.status, 401);
      assert.equal(create.body.error.code, 'unauthorized');
      assert.equal((await sys.request('GET', '/v1/endpoints', { apiKey })).status, 401);
      assert.equal((await sys.request('GET', `/v1/endpoints/${created.id}`, { apiKey })).status, 401);
      assert.equal((await sys.request('GET', `/v1/endpoints/${created.id}/secret`, { apiKey })).status, 401);
    }
  });
});

describe('tenancy', () => {
  it("another operator's endpoint is 404 to GET, PATCH, DELETE, secret, rotate-secret and recover, and stays as it was", async () => {
    const mine = await createEndpoint({ url: rx.url('/mine'), description: 'mine' });
    const at = `/v1/endpoints/${mine.id}`;
    const attempts: [string, string, unknown][] = [
      ['GET', at, undefined],
      ['PATCH', at, { description: 'theirs', enabled: false }],
      ['DELETE', at, undefined],
      ['GET', `${at}/secret`, undefined],
      ['POST', `${at}/rotate-secret`, undefined],
      ['POST', `${at}/recover`, { since: new Date(Date.now() - 3_600_000).toISOString() }],
    ];
    for (const [method, path, json] of attempts) {
      const res = await api(method, path, json, stranger);
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'not_found');
    }
    const theirList = await api('GET', '/v1/endpoints?limit=500', undefined, stranger);
    assert.ok(!theirList.body.data.some((e: EndpointOut) => e.id === mine.id));

    const still = await api('GET', at);
    assert.equal(still.status, 200);
    assert.equal(still.body.description, 'mine');
    assert.equal(still.body.enabled, true);
    assert.equal(still.body.updatedAt, mine.updatedAt);
    assert.equal((await api('GET', `${at}/secret`)).body.secret, mine.secret);
  });
});

describe('the SSRF guard when an endpoint is saved', () => {
  /** A deployment that allows no private destination at all, loopback included. */
  let guarded: System;
  before(async () => {
    guarded = await startSystem({ ssrfAllow: [], worker: false });
  });
  after(async () => {
    await guarded?.stop();
  });

  for (const url of [
    'http://127.0.0.1:9/x',
    'http://localhost:9/x',
    'http://[::1]:9/x',
    'http://169.254.169.254/latest',
    'http://10.0.0.1/x',
    'http://0x7f.1/x',
  ]) {
    it(`refuses ${url} with 422 at url`, async () => {
      const res = await api('POST', '/v1/endpoints', { url, eventTypes: ['*'] }, quiet, guarded);
      assert.deepEqual(invalidPaths(res), ['url']);
    });
  }

  it('accepts a public name at save time, and refuses a PATCH to a forbidden address', async () => {
    const created = await createEndpoint({ url: 'https://tracker.example/hooks' }, op, guarded);
    const res = await api(
      'PATCH',
      `/v1/endpoints/${created.id}`,
      { url: 'http://127.0.0.1:9/x' },
      op,
      guarded,
    );
    assert.deepEqual(invalidPaths(res), ['url']);
    const got = await api('GET', `/v1/endpoints/${created.id}`, undefined, op, guarded);
    assert.equal(got.body.url, 'https://tracker.example/hooks');
  });

  it('the cloud metadata address stays refused where loopback is allowed', async () => {
    const body = { url: 'http://169.254.169.254/latest', eventTypes: ['*'] };
    const res = await api('POST', '/v1/endpoints', body, quiet);
    assert.deepEqual(invalidPaths(res), ['url']);
  });
});

describe('signing secrets and their rotation', () => {
  it('GET /secret shows the secret given at creation again, and the database holds it only sealed', async () => {
    const created = await createEndpoint({ url: rx.url('/secret') });
    const shown = await api('GET', `/v1/endpoints/${created.id}/secret`);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, { secret: created.secret });

    const { rows } = await sys.pool.query<{ secret_sealed: string }>(
      'SELECT secret_sealed FROM endpoints WHERE id = $1',
      [created.id],
    );
    const sealed = rows[0]!.secret_sealed;
    const raw = created.secret.slice('whsec_'.length);
    assert.ok(!sealed.includes(raw), 'the secret is not stored in clear');
    assert.ok(!sealed.includes(Buffer.from(raw, 'base64').toString('base64url')), 'nor re-encoded');
  });

  it('rotate-secret answers a new secret and keeps the old one signing for 24 h', async () => {
    const created = await createEndpoint({ url: rx.url('/rotate') });
    const rotated = await api('POST', `/v1/endpoints/${created.id}/rotate-secret`);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, created.secret);
    assert.match(
      rotated.body.previousSecretExpiresAt,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
      'RFC 3339 UTC',
    );
    assertAbout(rotated.body.previousSecretExpiresAt, Date.now() + 24 * 3_600_000, 60_000);

    const shown = await api('GET', `/v1/endpoints/${created.id}/secret`);
    assert.equal(shown.body.secret, rotated.body.secret, 'GET /secret shows the current secret');
  });

  it('after a rotation, a delivery carries two signatures, and the library verifies it with either secret', async () => {
    const { affiliateId, event, path } = scoped();
    const created = await createEndpoint({ url: rx.url(path), affiliateId });
    const rotated = await api('POST', `/v1/endpoints/${created.id}/rotate-secret`);
    assert.equal(rotated.status, 200);

    await (await sendEvent(event)).result();
    const [req] = await rx.waitFor(path, 1);
    const signatures = signaturesOf(req!);
    assert.equal(signatures.length, 2);
    assert.ok(signatures.every((s) => s.startsWith('v1,')));
    assert.ok(verifies(created.secret, req!), 'the old secret verifies');
    assert.ok(verifies(rotated.body.secret, req!), 'the new secret verifies');
    const payload = new Webhook(rotated.body.secret).verify(
      req!.body,
      req!.headers as Record<string, string>,
    ) as { data: { eventId: string } };
    assert.equal(payload.data.eventId, event.id);
    assert.ok(!verifies(generateWebhookSecret(), req!), 'any other secret does not');
  });

  it('a second rotation within the grace period signs with all three secrets', async () => {
    const { affiliateId, event, path } = scoped();
    const created = await createEndpoint({ url: rx.url(path), affiliateId });
    const second = (await api('POST', `/v1/endpoints/${created.id}/rotate-secret`)).body.secret as string;
    const third = (await api('POST', `/v1/endpoints/${created.id}/rotate-secret`)).body.secret as string;

    await (await sendEvent(event)).result();
    const [req] = await rx.waitFor(path, 1);
    assert.equal(signaturesOf(req!).length, 3);
    for (const secret of [created.secret, second, third]) assert.ok(verifies(secret, req!));
  });

  describe('with a rotation grace period of zero', () => {
    let instant: System;
    before(async () => {
      instant = await startSystem({ secretRotationGraceMs: 0 });
    });
    after(async () => {
      await instant?.stop();
    });

    it('the old secret stops signing at once', async () => {
      const { affiliateId, event, path } = scoped();
      const created = await createEndpoint({ url: rx.url(path), affiliateId }, op, instant);
      const rotated = await api('POST', `/v1/endpoints/${created.id}/rotate-secret`, undefined, op, instant);
      assert.equal(rotated.status, 200);
      assertAbout(rotated.body.previousSecretExpiresAt, Date.now(), 10_000);

      await (await sendEvent(event, op, instant)).result();
      const [req] = await rx.waitFor(path, 1);
      assert.equal(signaturesOf(req!).length, 1);
      assert.ok(verifies(rotated.body.secret, req!));
      assert.ok(!verifies(created.secret, req!));
    });
  });
});

describe('events beside endpoints', () => {
  it('GET /v1/events/{id} answers the event that was sent, and 404 to another operator', async () => {
    const { event } = scoped();
    const handle = await sendEvent(event);
    await handle.result();
    const got = await api('GET', `/v1/events/${event.id}`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.id, event.id);
    assert.equal(got.body.type, 'customer.registered');
    assert.equal(got.body.workflowId, handle.workflowId);
    assert.equal((await api('GET', `/v1/events/${event.id}`, undefined, stranger)).status, 404);
    assert.equal((await api('GET', `/v1/events/${uniqueId()}`)).status, 404);
  });
});
