/**
 * Bounds on what endpoints and sources keep secret (issue #11): rotated-out secrets expire, are pruned and
 * are capped, so neither the signature header nor the decrypt work of an unauthenticated inbound request
 * grows with rotations; custom endpoint headers (receivers' credentials) are stored only sealed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { MAX_PREVIOUS_SECRETS } from '../../src/db/secret-rotation.js';
import { createSecretCipher, generateWebhookSecret } from '../../src/delivery/secrets.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { testEnv } from '../support/env.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

type Operator = { id: string; apiKey: string };

let sys: System;
let instant: System;
let rx: Receiver;
let op: Operator;
const cipher = createSecretCipher(testEnv().encryptionKeys);

before(async () => {
  sys = await startSystem();
  instant = await startSystem({ secretRotationGraceMs: 0 });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await instant?.stop();
  await sys?.stop();
  await rx?.stop();
});

async function createEndpoint(on: System, json: Record<string, unknown>) {
  const res = await on.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { eventTypes: ['*'], ...json },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; headers: Record<string, string> };
}

async function rotate(on: System, what: 'endpoints' | 'sources', id: string, times: number) {
  let secret = '';
  for (let i = 0; i < times; i++) {
    const res = await on.request('POST', `/v1/${what}/${id}/rotate-secret`, { apiKey: op.apiKey });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    secret = res.body.secret;
  }
  return secret;
}

async function storedPrevious(table: 'endpoints' | 'sources', id: string) {
  const { rows } = await sys.pool.query<{ previous_secrets: { sealed: string; expiresAt: string }[] }>(
    `SELECT previous_secrets FROM ${table} WHERE id = $1`,
    [id],
  );
  return rows[0]!.previous_secrets;
}

/** Delivers one event to a fresh endpoint path scoped to its own affiliate; answers the request received. */
async function deliverOne(on: System, endpoint: { id: string }, path: string, affiliateId: string) {
  const event = registration(uniqueId('player'), { attribution: { affiliateId } });
  const res = await on.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await on.client.workflow.getHandle(eventWorkflowId(op.id, event.id)).result();
  const [req] = await rx.waitFor(path, 1);
  return req!;
}

describe('rotated-out secrets expire, are pruned and are capped', () => {
  it(`when an endpoint's secret is rotated 10 times within the grace period, then at most ${MAX_PREVIOUS_SECRETS} previous secrets are kept and signed with`, async () => {
    const affiliateId = uniqueId('aff');
    const path = `/rot-${affiliateId}`;
    const endpoint = await createEndpoint(sys, { url: rx.url(path), affiliateId });
    const current = await rotate(sys, 'endpoints', endpoint.id, 10);
    assert.equal((await storedPrevious('endpoints', endpoint.id)).length, MAX_PREVIOUS_SECRETS);
    const req = await deliverOne(sys, endpoint, path, affiliateId);
    assert.equal(String(req.headers['webhook-signature']).split(' ').length, MAX_PREVIOUS_SECRETS + 1);
    new Webhook(current).verify(req.body, req.headers as Record<string, string>);
  });

  it('when the grace period is zero, then rotations keep no live previous secret (only the record of when the last stopped) and sign once', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/rot0-${affiliateId}`;
    const endpoint = await createEndpoint(instant, { url: rx.url(path), affiliateId });
    await rotate(instant, 'endpoints', endpoint.id, 10);
    const stored = await storedPrevious('endpoints', endpoint.id);
    assert.ok(stored.length <= 1, `${stored.length} stored`);
    assert.ok(stored.every((s) => Date.parse(s.expiresAt) <= Date.now()));
    const req = await deliverOne(instant, endpoint, path, affiliateId);
    assert.equal(String(req.headers['webhook-signature']).split(' ').length, 1);
  });

  it("when a source's secret is rotated 10 times, then it keeps the same bound", async () => {
    const res = await sys.request('POST', '/v1/sources', {
      apiKey: op.apiKey,
      json: { name: `s ${uniqueId('s')}`, verification: { type: 'hmac' } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await rotate(sys, 'sources', res.body.id, 10);
    assert.equal((await storedPrevious('sources', res.body.id)).length, MAX_PREVIOUS_SECRETS);
  });

  describe('an inbound request', () => {
    async function hmacSource() {
      const res = await sys.request('POST', '/v1/sources', {
        apiKey: op.apiKey,
        json: { name: `s ${uniqueId('s')}`, verification: { type: 'hmac' } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; secret: string };
    }

    function sendSigned(sourceId: string, secret: string) {
      const body = JSON.stringify(deposit(uniqueId('player')));
      const msgId = uniqueId('msg');
      const at = new Date();
      return sys.request('POST', `/v1/inbound/${sourceId}`, {
        rawBody: body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': msgId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(msgId, at, body),
        },
      });
    }

    const setPrevious = (id: string, list: { sealed: string; expiresAt: string }[]) =>
      sys.pool.query('UPDATE sources SET previous_secrets = $2 WHERE id = $1', [id, JSON.stringify(list)]);
    const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

    it('signed with an expired previous secret is refused with 401', async () => {
      const source = await hmacSource();
      const old = generateWebhookSecret();
      await setPrevious(source.id, [
        { sealed: cipher.encrypt(old, source.id), expiresAt: new Date(Date.now() - 1_000).toISOString() },
      ]);
      assert.equal((await sendSigned(source.id, old)).status, 401);
      assert.equal((await sendSigned(source.id, source.secret)).status, 202);
    });

    it('never opens an expired previous secret (one that cannot be opened does not matter)', async () => {
      const source = await hmacSource();
      await setPrevious(source.id, [{ sealed: 'v1.00000000.broken', expiresAt: '2020-01-01T00:00:00Z' }]);
      assert.equal((await sendSigned(source.id, source.secret)).status, 202);
    });

    it(`opens at most the ${MAX_PREVIOUS_SECRETS} newest live previous secrets of a row stored before the cap`, async () => {
      const source = await hmacSource();
      const newest = Array.from({ length: MAX_PREVIOUS_SECRETS }, () => generateWebhookSecret());
      // Oldest first, as rotations append: ten that cannot be opened, then the newest live ones. Opening
      // any of the ten would fail the request: only the newest MAX_PREVIOUS_SECRETS are opened.
      await setPrevious(source.id, [
        ...Array.from({ length: 10 }, () => ({ sealed: 'v1.00000000.broken', expiresAt: inAnHour() })),
        ...newest.map((secret) => ({ sealed: cipher.encrypt(secret, source.id), expiresAt: inAnHour() })),
      ]);
      assert.equal((await sendSigned(source.id, source.secret)).status, 202);
      for (const secret of newest) assert.equal((await sendSigned(source.id, secret)).status, 202);
    });
  });
});

describe('custom endpoint headers are sealed at rest', () => {
  const credential = () => `sk_live_${uniqueId('cred')}`;

  async function storedHeaders(id: string): Promise<string> {
    const { rows } = await sys.pool.query<{ headers: string }>(
      'SELECT headers::text AS headers FROM endpoints WHERE id = $1',
      [id],
    );
    return rows[0]!.headers;
  }

  it('when an endpoint is created or patched with headers, then the table holds no header value, the API shows them, and deliveries carry them', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/hdr-${affiliateId}`;
    const first = credential();
    const endpoint = await createEndpoint(sys, {
      url: rx.url(path),
      affiliateId,
      headers: { 'X-Api-Key': first },
    });
    assert.deepEqual(endpoint.headers, { 'X-Api-Key': first });
    assert.ok(!(await storedHeaders(endpoint.id)).includes(first), 'the created value is stored sealed');
    const shown = await sys.request('GET', `/v1/endpoints/${endpoint.id}`, { apiKey: op.apiKey });
    assert.deepEqual(shown.body.headers, { 'X-Api-Key': first });

    const second = credential();
    const patched = await sys.request('PATCH', `/v1/endpoints/${endpoint.id}`, {
      apiKey: op.apiKey,
      json: { headers: { 'X-Api-Key': second, 'X-Partner': 'p-7' } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.headers, { 'X-Api-Key': second, 'X-Partner': 'p-7' });
    const stored = await storedHeaders(endpoint.id);
    for (const plain of [second, 'X-Api-Key', 'p-7'])
      assert.ok(!stored.includes(plain), `${plain} is sealed`);

    const req = await deliverOne(sys, endpoint, path, affiliateId);
    assert.equal(req.headers['x-api-key'], second);
    assert.equal(req.headers['x-partner'], 'p-7');
  });

  it('an endpoint stored with plaintext headers before sealing still delivers them, and a write seals them', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/legacy-${affiliateId}`;
    const endpoint = await createEndpoint(sys, { url: rx.url(path), affiliateId });
    const legacy = credential();
    await sys.pool.query('UPDATE endpoints SET headers = $2 WHERE id = $1', [
      endpoint.id,
      JSON.stringify({ 'X-Api-Key': legacy }),
    ]);
    const shown = await sys.request('GET', `/v1/endpoints/${endpoint.id}`, { apiKey: op.apiKey });
    assert.deepEqual(shown.body.headers, { 'X-Api-Key': legacy });
    const req = await deliverOne(sys, endpoint, path, affiliateId);
    assert.equal(req.headers['x-api-key'], legacy);

    const res = await sys.request('PATCH', `/v1/endpoints/${endpoint.id}`, {
      apiKey: op.apiKey,
      json: { description: 'any write' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.headers, { 'X-Api-Key': legacy });
    assert.ok(!(await storedHeaders(endpoint.id)).includes(legacy), 'sealed by the next write');
  });
});
