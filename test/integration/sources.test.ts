/**
 * Inbound sources (issue #7, item 4): systems that push events for an operator without its API key. A
 * request that fails verification (unknown source, foreign address, wrong token, bad, stale or replayed
 * signature) is refused with 401 and stores nothing; a verified one becomes workflows. GET postbacks map
 * to canonical events by the source's field map. Senders sign with the official `standardwebhooks` library.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { createApp } from '../../src/api/app.js';
import { INBOUND_TOLERANCE_MS } from '../../src/api/routes/inbound.js';
import { pruneInboundMessages } from '../../src/db/sources.js';
import { createDeliveryRuntime } from '../../src/delivery/deps.js';
import { generateWebhookSecret } from '../../src/delivery/secrets.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { testEnv } from '../support/env.js';
import { POSTBACK_MAPPING, deposit, registration, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

type Operator = { id: string; apiKey: string };

let sys: System;
let op: Operator;
let stranger: Operator;

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
  stranger = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
});

async function createSource(fields: Record<string, unknown>, who: Operator = op) {
  const res = await sys.request('POST', '/v1/sources', {
    apiKey: who.apiKey,
    json: { name: `source ${uniqueId('s')}`, ...fields },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; inboundUrl: string; [field: string]: unknown };
}

const hmacSource = (fields: Record<string, unknown> = {}) =>
  createSource({ verification: { type: 'hmac' }, ...fields });
const tokenSource = (fields: Record<string, unknown> = {}) =>
  createSource({ verification: { type: 'token' }, ...fields });

/** Headers a Standard Webhooks sender puts on `body`, signed with `secret` at `at`. */
function signed(secret: string, body: string, o: { msgId?: string; at?: Date } = {}) {
  const msgId = o.msgId ?? uniqueId('msg');
  const at = o.at ?? new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, at, body),
  };
}

/** POSTs `payload` to an hmac source, signed as a sender would. */
function sendSigned(
  source: { id: string; secret: string },
  payload: unknown,
  o: { msgId?: string; at?: Date } = {},
) {
  const body = JSON.stringify(payload);
  return sys.request('POST', `/v1/inbound/${source.id}`, {
    rawBody: body,
    headers: signed(source.secret, body, o),
  });
}

async function eventRows(operatorId: string, eventIds: string[]): Promise<number> {
  const { rows } = await sys.pool.query(
    'SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = ANY($2)',
    [operatorId, eventIds],
  );
  return rows[0].n;
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await sys.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function seenMessages(sourceId: string): Promise<number> {
  const { rows } = await sys.pool.query(
    'SELECT count(*)::int AS n FROM inbound_messages WHERE source_id = $1',
    [sourceId],
  );
  return rows[0].n;
}

/** Refused: 401 with the one answer every verification failure gets, and nothing of the event stored. */
async function assertRefused(res: { status: number; body: any }, eventIds: string[], operatorId = op.id) {
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.deepEqual(res.body, {
    error: { code: 'unauthorized', message: 'The request could not be verified for this inbound source.' },
  });
  assert.equal(await eventRows(operatorId, eventIds), 0);
  for (const id of eventIds) assert.equal(await workflowExists(eventWorkflowId(operatorId, id)), false);
}

describe('the sources API', () => {
  it('creates an hmac source whose whsec_ secret is answered once and stored only sealed', async () => {
    const source = await hmacSource({ ipAllowlist: ['127.0.0.0/8', '::1'] });
    assert.match(source.id, /^src_[A-Za-z0-9]{20}$/);
    assert.match(source.secret, /^whsec_/);
    assert.equal(source.inboundUrl, `/v1/inbound/${source.id}`);
    assert.deepEqual(source.verification, { type: 'hmac' });
    assert.deepEqual(source.ipAllowlist, ['127.0.0.0/8', '::1']);

    const got = await sys.request('GET', `/v1/sources/${source.id}`, { apiKey: op.apiKey });
    assert.equal(got.status, 200);
    assert.equal(got.body.secret, undefined);
    assert.equal(got.body.inboundUrl, source.inboundUrl);

    const list = await sys.request('GET', '/v1/sources?limit=500', { apiKey: op.apiKey });
    assert.ok(list.body.data.some((s: { id: string }) => s.id === source.id));
    assert.ok(list.body.data.every((s: { secret?: string }) => s.secret === undefined));

    const { rows } = await sys.pool.query('SELECT secret_sealed FROM sources WHERE id = $1', [source.id]);
    assert.ok(!rows[0].secret_sealed.includes(source.secret.slice('whsec_'.length, 20)));
  });

  it('a token source answers its token inside its URL once; later reads show {token}', async () => {
    const source = await tokenSource();
    assert.match(source.secret, /^srctok_[A-Za-z0-9]{40}$/);
    assert.equal(source.inboundUrl, `/v1/inbound/${source.id}/${source.secret}`);
    const got = await sys.request('GET', `/v1/sources/${source.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.inboundUrl, `/v1/inbound/${source.id}/{token}`);
  });

  it("another operator's source is 404, exactly as a missing one, and untouched", async () => {
    const source = await hmacSource();
    const missing = await sys.request('GET', '/v1/sources/src_doesNotExist0000000', {
      apiKey: stranger.apiKey,
    });
    assert.equal(missing.status, 404);
    for (const [method, path, json] of [
      ['GET', `/v1/sources/${source.id}`, undefined],
      ['PATCH', `/v1/sources/${source.id}`, { name: 'mine now' }],
      ['DELETE', `/v1/sources/${source.id}`, undefined],
      ['POST', `/v1/sources/${source.id}/rotate-secret`, undefined],
    ] as const) {
      const res = await sys.request(method, path, { apiKey: stranger.apiKey, json });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, missing.body.error.code);
    }
    const list = await sys.request('GET', '/v1/sources', { apiKey: stranger.apiKey });
    assert.ok(!list.body.data.some((s: { id: string }) => s.id === source.id));
    const still = await sys.request('GET', `/v1/sources/${source.id}`, { apiKey: op.apiKey });
    assert.equal(still.status, 200);
    assert.equal(still.body.name, source.name);
  });

  it('refuses an invalid source with 422 details naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ verification: { type: 'basic' } }, 'verification.type'],
      [{ verification: { type: 'hmac' }, ipAllowlist: ['10.1.2.5/24'] }, 'ipAllowlist.0'],
      [{ verification: { type: 'hmac' }, ipAllowlist: ['not-an-ip'] }, 'ipAllowlist.0'],
      [{ verification: { type: 'token' }, fieldMap: { player: 'customer' } }, 'fieldMap.player'],
      [{ verification: { type: 'token' }, fieldMap: { p: 'customerId', u: 'customerId' } }, 'fieldMap.u'],
      [{ verification: { type: 'token' }, statusMap: { ftd: 'deposit.ftd' } }, 'statusMap.ftd'],
      [{ verification: { type: 'token' }, statusMap: { ftd: 'deposit.completed' } }, 'statusMap'],
      [{ verification: { type: 'token' }, defaults: { 'data.a.b': 'x' } }, 'defaults.data.a.b'],
      [{ verification: { type: 'token' }, secret: 'mine' }, 'secret'],
    ];
    for (const [fields, path] of cases) {
      const res = await sys.request('POST', '/v1/sources', {
        apiKey: op.apiKey,
        json: { name: 'x', ...fields },
      });
      assert.equal(res.status, 422, JSON.stringify(fields));
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === path),
        `${JSON.stringify(fields)} -> ${JSON.stringify(res.body.error.details)}`,
      );
    }
  });

  it('PATCH changes the mapping and the allowlist; null clears; a delete refuses everything after', async () => {
    const source = await tokenSource({ ipAllowlist: ['203.0.113.0/24'] });
    const patched = await sys.request('PATCH', `/v1/sources/${source.id}`, {
      apiKey: op.apiKey,
      json: { ipAllowlist: null, fieldMap: { tx: 'id' }, defaults: { 'data.currency': 'EUR' } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.ipAllowlist, []);
    assert.deepEqual(patched.body.fieldMap, { tx: 'id' });
    const bad = await sys.request('PATCH', `/v1/sources/${source.id}`, {
      apiKey: op.apiKey,
      json: { statusMap: { ftd: 'deposit.completed' } },
    });
    assert.equal(bad.status, 422);

    const deleted = await sys.request('DELETE', `/v1/sources/${source.id}`, { apiKey: op.apiKey });
    assert.equal(deleted.status, 204);
    assert.equal((await sys.request('GET', `/v1/sources/${source.id}`, { apiKey: op.apiKey })).status, 404);
    const event = deposit(uniqueId('player'));
    await assertRefused(
      await sys.request('POST', `/v1/inbound/${source.id}/${source.secret}`, { json: event }),
      [event.id],
    );
  });
});

describe('POST /v1/inbound/{sourceId}: Standard Webhooks signatures', () => {
  it("when a signed event arrives, then it is accepted for the source's operator and its workflow runs", async () => {
    const source = await hmacSource();
    const event = registration(uniqueId('player'));
    const res = await sendSigned(source, event);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const workflowId = eventWorkflowId(op.id, event.id);
    assert.deepEqual(res.body, { eventId: event.id, status: 'accepted', duplicate: false, workflowId });
    const result = await sys.client.workflow.getHandle(workflowId).result();
    assert.deepEqual(result.emits, ['customer.registered']);
    const got = await sys.request('GET', `/v1/events/${event.id}`, { apiKey: op.apiKey });
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'processed');
    assert.equal(got.body.sourceId, source.id);
    // The same event again, in a new message: a duplicate, as on POST /v1/events.
    const again = await sendSigned(source, event);
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
  });

  it('when an array arrives, then each item is answered in order and only the valid ones start', async () => {
    const source = await hmacSource();
    const customerId = uniqueId('player');
    const good = [registration(customerId), deposit(customerId)];
    const invalid = deposit(customerId, { data: { depositId: 'd', amount: 'lots', currency: 'EUR' } });
    const res = await sendSigned(source, [good[0], invalid, good[1], good[0]]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.results.map((r: { index: number; id: string; status: string }) => [r.index, r.id, r.status]),
      [
        [0, good[0]!.id, 'accepted'],
        [1, invalid.id, 'invalid'],
        [2, good[1]!.id, 'accepted'],
        [3, good[0]!.id, 'duplicate'],
      ],
    );
    const issuePaths = res.body.results[1].issues.map((i: { path: string }) => i.path);
    assert.deepEqual(new Set(issuePaths), new Set(['data.amount']));
    for (const e of good) await sys.client.workflow.getHandle(eventWorkflowId(op.id, e.id)).result();
    for (const e of good) {
      const got = await sys.request('GET', `/v1/events/${e.id}`, { apiKey: op.apiKey });
      assert.equal(got.body.sourceId, source.id);
    }
    assert.equal(await eventRows(op.id, [invalid.id]), 0);
    assert.equal(await workflowExists(eventWorkflowId(op.id, invalid.id)), false);
  });

  describe('a request that fails verification gets 401 and changes nothing', () => {
    const cases: {
      name: string;
      send: (source: { id: string; secret: string }, body: string) => ReturnType<System['request']>;
    }[] = [
      {
        name: 'signed with another secret',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}`, {
            rawBody: body,
            headers: signed(generateWebhookSecret(), body),
          }),
      },
      {
        name: 'a stale timestamp (6 minutes old)',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}`, {
            rawBody: body,
            headers: signed(s.secret, body, { at: new Date(Date.now() - 6 * 60_000) }),
          }),
      },
      {
        name: 'a timestamp 6 minutes ahead',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}`, {
            rawBody: body,
            headers: signed(s.secret, body, { at: new Date(Date.now() + 6 * 60_000) }),
          }),
      },
      {
        name: 'the body changed after signing',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}`, {
            rawBody: body.replace('50.00', '5000.00'),
            headers: signed(s.secret, body),
          }),
      },
      {
        name: 'the timestamp changed after signing',
        send: (s, body) => {
          const headers = signed(s.secret, body);
          headers['webhook-timestamp'] = String(Number(headers['webhook-timestamp']) - 1);
          return sys.request('POST', `/v1/inbound/${s.id}`, { rawBody: body, headers });
        },
      },
      {
        name: 'no signature headers',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}`, {
            rawBody: body,
            headers: { 'content-type': 'application/json' },
          }),
      },
      {
        name: 'an unknown source',
        send: (_s, body) =>
          sys.request('POST', '/v1/inbound/src_unknown00000000000000', {
            rawBody: body,
            headers: signed(generateWebhookSecret(), body),
          }),
      },
      {
        name: 'a malformed source id',
        send: (_s, body) =>
          sys.request('POST', '/v1/inbound/ep_x', {
            rawBody: body,
            headers: signed(generateWebhookSecret(), body),
          }),
      },
      {
        name: 'the token route of an hmac source',
        send: (s, body) =>
          sys.request('POST', `/v1/inbound/${s.id}/srctok_${'x'.repeat(40)}`, {
            rawBody: body,
            headers: signed(s.secret, body),
          }),
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const source = await hmacSource();
        const event = deposit(uniqueId('player'));
        await assertRefused(await c.send(source, JSON.stringify(event)), [event.id]);
        assert.equal(await seenMessages(source.id), 0);
      });
    }

    it('a foreign address (IP allowlist), even when correctly signed', async () => {
      const source = await hmacSource({ ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] });
      const event = deposit(uniqueId('player'));
      await assertRefused(await sendSigned(source, event), [event.id]);
      assert.equal(await seenMessages(source.id), 0);
      const allowed = await hmacSource({ ipAllowlist: ['203.0.113.0/24', '127.0.0.0/8', '::1/128'] });
      assert.equal((await sendSigned(allowed, event)).status, 202);
    });

    it('a replay: the same signed request again is refused, and a re-signed redelivery is a duplicate', async () => {
      const source = await hmacSource();
      const event = deposit(uniqueId('player'));
      const body = JSON.stringify(event);
      const headers = signed(source.secret, body, { at: new Date(Date.now() - 2_000) });
      const first = await sys.request('POST', `/v1/inbound/${source.id}`, { rawBody: body, headers });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const { rows: before } = await sys.pool.query(
        'SELECT received_at, acknowledged_at FROM events WHERE operator_id = $1 AND event_id = $2',
        [op.id, event.id],
      );

      const replay = await sys.request('POST', `/v1/inbound/${source.id}`, { rawBody: body, headers });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error.code, 'unauthorized');
      const { rows: after } = await sys.pool.query(
        'SELECT received_at, acknowledged_at FROM events WHERE operator_id = $1 AND event_id = $2',
        [op.id, event.id],
      );
      assert.deepEqual(after, before);
      assert.equal(await seenMessages(source.id), 1);

      // The sender's own retry of that message is signed afresh (a new timestamp): only the secret's holder
      // can make one, so it is processed, idempotently.
      const redelivery = await sendSigned(source, event, { msgId: headers['webhook-id'] });
      assert.equal(redelivery.status, 200, JSON.stringify(redelivery.body));
      assert.equal(redelivery.body.duplicate, true);
    });
  });

  it('forgets seen messages once they are past the tolerance window, where a replay is stale anyway', async () => {
    const source = await hmacSource();
    const now = Date.now();
    await sys.pool.query(
      `INSERT INTO inbound_messages (source_id, message_id, signed_at)
       VALUES ($1, 'old', $2), ($1, 'fresh', $3), ($1, 'ahead', $4)`,
      [
        source.id,
        new Date(now - INBOUND_TOLERANCE_MS - 60_000),
        new Date(now - 60_000),
        new Date(now + 60_000),
      ],
    );
    assert.ok((await pruneInboundMessages(sys.pool, INBOUND_TOLERANCE_MS)) >= 1);
    const { rows } = await sys.pool.query(
      'SELECT message_id FROM inbound_messages WHERE source_id = $1 ORDER BY message_id',
      [source.id],
    );
    assert.deepEqual(
      rows.map((r) => r.message_id),
      ['ahead', 'fresh'],
    );
  });

  it('checks the signature before it reads the body: malformed JSON is 401 unsigned, 400 signed', async () => {
    const source = await hmacSource();
    const body = '{"id": "x",';
    const unsigned = await sys.request('POST', `/v1/inbound/${source.id}`, {
      rawBody: body,
      headers: signed(generateWebhookSecret(), body),
    });
    assert.equal(unsigned.status, 401);
    const good = await sys.request('POST', `/v1/inbound/${source.id}`, {
      rawBody: body,
      headers: signed(source.secret, body),
    });
    assert.equal(good.status, 400);
    assert.equal(good.body.error.code, 'invalid_json');
  });

  it('after a rotation, the new and the previous secret both verify during the grace period', async () => {
    const source = await hmacSource();
    const rotated = await sys.request('POST', `/v1/sources/${source.id}/rotate-secret`, {
      apiKey: op.apiKey,
    });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, source.secret);
    assert.ok(Date.parse(rotated.body.previousSecretExpiresAt) > Date.now());
    assert.equal((await sendSigned(source, deposit(uniqueId('player')))).status, 202);
    assert.equal(
      (await sendSigned({ ...source, secret: rotated.body.secret }, deposit(uniqueId('player')))).status,
      202,
    );
  });
});

describe('token sources and GET postbacks', () => {
  it('POST with the token in the path is accepted; a wrong token is refused and stores nothing', async () => {
    const source = await tokenSource();
    const event = deposit(uniqueId('player'));
    const wrong = `${source.secret.slice(0, -2)}xx`;
    await assertRefused(await sys.request('POST', `/v1/inbound/${source.id}/${wrong}`, { json: event }), [
      event.id,
    ]);
    await assertRefused(await sys.request('POST', `/v1/inbound/${source.id}`, { json: event }), [event.id]);
    const ok = await sys.request('POST', source.inboundUrl, { json: event });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id)).result();
  });

  it('an IP allowlist refuses a foreign address even with the right token', async () => {
    const foreign = await tokenSource({ ipAllowlist: ['198.51.100.7'] });
    const event = deposit(uniqueId('player'));
    await assertRefused(await sys.request('POST', foreign.inboundUrl, { json: event }), [event.id]);
    await assertRefused(await sys.request('GET', `${foreign.inboundUrl}?id=${event.id}`), [event.id]);
    const local = await tokenSource({ ipAllowlist: ['127.0.0.1'] });
    assert.equal((await sys.request('POST', local.inboundUrl, { json: event })).status, 202);
  });

  it('when event=ftd&player=..&amount=.. arrives, then it becomes the mapped deposit.completed, and a retry is a duplicate', async () => {
    const source = await tokenSource(POSTBACK_MAPPING);
    const player = uniqueId('player');
    const affiliateId = uniqueId('aff');
    const reg = `${source.inboundUrl}?event=reg&player=${player}&txid=${uniqueId('reg')}&aff=${affiliateId}&country=DE`;
    assert.equal((await sys.request('GET', reg)).status, 202);

    const txid = uniqueId('tx');
    const ftd = `${source.inboundUrl}?event=ftd&player=${player}&amount=50.00&txid=${txid}&utm=ignored`;
    const res = await sys.request('GET', ftd);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const workflowId = eventWorkflowId(op.id, txid);
    assert.deepEqual(res.body, { eventId: txid, status: 'accepted', duplicate: false, workflowId });
    const result = await sys.client.workflow.getHandle(workflowId).result();
    assert.equal(result.facts.ftd, true);

    const got = await sys.request('GET', `/v1/events/${txid}`, { apiKey: op.apiKey });
    assert.equal(got.body.type, 'deposit.completed');
    assert.equal(got.body.customerId, player);
    assert.equal(got.body.brand, 'casino-x');
    assert.deepEqual(got.body.data, { depositId: txid, amount: '50.00', currency: 'EUR' });
    assert.deepEqual(got.body.effectiveAttribution, { affiliateId });
    assert.equal(got.body.sourceId, source.id);

    // The tracker retries later: occurredAt was the time of receipt, so it does not make a conflict.
    await new Promise((r) => setTimeout(r, 1_100));
    const retry = await sys.request('GET', ftd);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.body.duplicate, true);
    assert.equal(await eventRows(op.id, [txid]), 1);
  });

  it('a postback that does not map to a valid event is 422 naming the query field, and stores nothing', async () => {
    const source = await tokenSource(POSTBACK_MAPPING);
    const txid = uniqueId('tx');
    const res = await sys.request(
      'GET',
      `${source.inboundUrl}?event=ftd&player=p-1&amount=fifty&txid=${txid}`,
    );
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'validation_failed');
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    assert.deepEqual(new Set(paths), new Set(['data.amount']));
    assert.match(res.body.error.details[0].message, /query field "amount"/);
    const unknown = await sys.request('GET', `${source.inboundUrl}?event=bonus&player=p-1&txid=${txid}`);
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.details[0].path, 'type');
    assert.equal(await eventRows(op.id, [txid]), 0);
  });

  it('a GET postback to an hmac source is refused (there is nothing to sign), and HEAD ingests nothing', async () => {
    const hmac = await hmacSource(POSTBACK_MAPPING);
    const txid = uniqueId('tx');
    const query = `?event=ftd&player=p-1&amount=5&txid=${txid}`;
    await assertRefused(await sys.request('GET', `/v1/inbound/${hmac.id}${query}`), [txid]);
    await assertRefused(await sys.request('GET', `/v1/inbound/${hmac.id}/srctok_${'x'.repeat(40)}${query}`), [
      txid,
    ]);

    const token = await tokenSource(POSTBACK_MAPPING);
    const head = await fetch(`${sys.baseUrl}${token.inboundUrl}${query}`, { method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.equal(await eventRows(op.id, [txid]), 0);
  });
});

describe('logs', () => {
  it('never carry a source token, a signature or an event body', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const env = testEnv();
    const delivery = createDeliveryRuntime({
      SECRETS_ENCRYPTION_KEYS: env.encryptionKeys,
      SSRF_ALLOWLIST: ['127.0.0.0/8'],
      HTTPS_ONLY: false,
    });
    const app = createApp({
      pool: sys.pool,
      accept: {
        client: async () => sys.client,
        start: { taskQueue: sys.taskQueue, eager: false, timeoutMs: 5_000 },
      },
      adminToken: env.adminToken,
      maxBodyBytes: 256 * 1024,
      logger,
      temporalReady: async () => true,
      delivery,
      secretRotationGraceMs: 60_000,
      defaultTimeoutMs: 5_000,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const token = await tokenSource(minimalMapping());
      const hmac = await hmacSource();
      const player = uniqueId('secret-player');
      const event = deposit(player);
      const body = JSON.stringify(event);
      const otherBody = JSON.stringify(deposit(player));
      const headers = signed(hmac.secret, otherBody);
      const json = { 'content-type': 'application/json' };
      const statuses = [];
      for (const send of [
        () => fetch(`${base}${token.inboundUrl}`, { method: 'POST', headers: json, body }),
        () => fetch(`${base}${token.inboundUrl}?event=ftd&player=${player}&amount=5&txid=${uniqueId('tx')}`),
        () => fetch(`${base}/v1/inbound/${token.id}/srctok_wrong`, { method: 'POST', headers: json, body }),
        () => fetch(`${base}/v1/inbound/${hmac.id}`, { method: 'POST', headers, body: otherBody }),
        () => fetch(`${base}/v1/inbound/${hmac.id}`, { method: 'POST', headers, body: otherBody }),
      ]) {
        statuses.push((await send()).status);
      }
      assert.deepEqual(statuses, [202, 202, 401, 202, 401]);
      await new Promise((r) => setTimeout(r, 100));
      const log = lines.join('');
      assert.ok(log.includes(`/v1/inbound/${token.id}/[redacted]`), log);
      assert.ok(log.includes('"reason":"wrong_token"'), log);
      assert.ok(log.includes('"reason":"replay"'), log);
      for (const secret of [
        token.secret,
        'srctok_wrong',
        hmac.secret,
        headers['webhook-signature'],
        player,
      ]) {
        assert.ok(!log.includes(secret), `the log holds ${secret}`);
      }
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      delivery.http.close();
    }
  });
});

function minimalMapping() {
  return {
    fieldMap: { event: 'type', player: 'customerId', amount: 'data.amount', txid: ['id', 'data.depositId'] },
    statusMap: { ftd: 'deposit.completed' },
    defaults: { 'data.currency': 'EUR' },
  };
}
