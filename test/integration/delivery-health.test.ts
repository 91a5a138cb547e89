import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { insertEndpoint, newEndpointId } from '../../src/db/endpoints.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { generateWebhookSecret } from '../../src/delivery/secrets.js';
import { createSecretCipher } from '../../src/delivery/secrets.js';
import { assertDocumentedWebhook } from '../support/documented.js';
import { testEnv } from '../support/env.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Endpoint health, operational events, rate limits, test sends and the connect-time SSRF guard. This
 * system disables an endpoint after 2 s of only failures and announces `delivery.failing` after 2 attempts.
 */
let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem({ health: { disableAfterMs: 2_000, failingAfterAttempts: 2 } });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

async function createEndpoint(path: string, body: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

async function send(event: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id as string));
}

describe('operational events and endpoint health', () => {
  async function opsScenario(replies: { status: number }[], waits: string[]) {
    const affiliateId = uniqueId('aff');
    const ops = `/ops-${affiliateId}`;
    const path = `/sick-${affiliateId}`;
    // Operational events carry no attribution, so this endpoint hears every test's: bodies are filtered.
    await createEndpoint(ops, { eventTypes: ['delivery.*'] });
    rx.script(path, replies);
    const sick = await createEndpoint(path, {
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: waits, jitter: 0 },
    });
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const result = await (await send(reg)).result();
    const delivery = result.deliveries[0]!;
    const about = async (count: number) => {
      for (let i = 0; i < 100; i++) {
        const mine = rx
          .requests(ops)
          .map((r) => JSON.parse(r.body))
          .filter((b) => b.data.details.deliveryId === delivery.deliveryId);
        if (mine.length >= count) return mine;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`fewer than ${count} operational events about ${delivery.deliveryId}`);
    };
    return { sick, reg, delivery, about };
  }

  function expectAbout(
    body: any,
    s: { sick: { id: string }; reg: { id: string }; delivery: { deliveryId: string } },
  ) {
    assertDocumentedWebhook(body);
    assert.equal(body.data.details.deliveryId, s.delivery.deliveryId);
    assert.equal(body.data.details.endpointId, s.sick.id);
    assert.equal(body.data.details.eventId, s.reg.id);
  }

  it('a delivery failing after 2 attempts, then exhausted, is announced to the operator’s ops endpoint', async () => {
    const s = await opsScenario([{ status: 500 }, { status: 500 }, { status: 500 }], ['100ms', '100ms']);
    assert.equal(s.delivery.status, 'failed');
    const bodies = await s.about(2);
    assert.deepEqual(bodies.map((b) => b.type).sort(), ['delivery.exhausted', 'delivery.failing']);
    for (const b of bodies) expectAbout(b, s);
    assert.equal(bodies.find((b) => b.type === 'delivery.exhausted').data.details.attempt, 3);
  });

  it('a failing delivery that then succeeds is announced as recovered, each fact once', async () => {
    const s = await opsScenario([{ status: 500 }, { status: 500 }], ['100ms', '100ms', '100ms']);
    assert.equal(s.delivery.status, 'succeeded');
    const bodies = await s.about(2);
    assert.deepEqual(bodies.map((b) => b.type).sort(), ['delivery.failing', 'delivery.recovered']);
    for (const b of bodies) expectAbout(b, s);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await s.about(2)).length, 2);
  });

  it('an endpoint that only fails for the disable period is disabled, its retries cancelled, and endpoint.disabled sent', async () => {
    const affiliateId = uniqueId('aff');
    const ops = `/ops-disabled-${affiliateId}`;
    const path = `/dying-${affiliateId}`;
    await createEndpoint(ops, { eventTypes: ['endpoint.disabled'] });
    rx.script(
      path,
      Array.from({ length: 20 }, () => ({ status: 503 })),
    );
    const dying = await createEndpoint(path, {
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: ['1s', '1s', '1s', '1s', '1s'], jitter: 0 },
    });
    const result = await (
      await send(registration(uniqueId('player'), { attribution: { affiliateId } }))
    ).result();
    assert.equal(result.deliveries[0]!.status, 'cancelled');

    const got = await sys.request('GET', `/v1/endpoints/${dying.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.enabled, false);
    assert.equal(got.body.disabledReason, 'failing');
    const [notice] = await rx.waitFor(ops, 1);
    const body = JSON.parse(notice!.body);
    assert.equal(body.type, 'endpoint.disabled');
    assertDocumentedWebhook(body);
    assert.equal(body.data.details.endpointId, dying.id);
    assert.equal(body.data.details.reason, 'failing');
    // Three failed attempts spanning >= 2 s, then the disable.
    assert.ok(rx.requests(path).length >= 3 && rx.requests(path).length <= 4, `${rx.requests(path).length}`);
  });
});

describe('POST /v1/endpoints/{id}/test', () => {
  it('sends a signed webhook.test to that endpoint only and returns its delivery', async () => {
    const path = `/probe-${uniqueId('x')}`;
    const endpoint = await createEndpoint(path, { eventTypes: ['deposit.ftd'] });
    const bystander = `/bystander-${uniqueId('x')}`;
    await createEndpoint(bystander, { eventTypes: ['*'], affiliateId: uniqueId('aff') });
    const res = await sys.request('POST', `/v1/endpoints/${endpoint.id}/test`, { apiKey: op.apiKey });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.match(res.body.id, /^dlv_/);
    assert.equal(res.body.eventType, 'webhook.test');
    const [req] = await rx.waitFor(path, 1);
    const payload = new Webhook(endpoint.secret).verify(
      req!.body,
      req!.headers as Record<string, string>,
    ) as any;
    assert.equal(payload.type, 'webhook.test');
    assertDocumentedWebhook(payload);
    assert.equal(req!.headers['webhook-id'], res.body.id);
    assert.equal(rx.requests(bystander).length, 0);
  });
});

describe('per-endpoint rate limit', () => {
  it('holds across concurrent deliveries: 6 events at 2/s take at least 2.5 s to arrive', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/limited-${affiliateId}`;
    await createEndpoint(path, { eventTypes: ['customer.registered'], affiliateId, rateLimitPerSecond: 2 });
    const events = Array.from({ length: 6 }, () =>
      registration(uniqueId('player'), { attribution: { affiliateId } }),
    );
    const sentAt = Date.now();
    const handles = await Promise.all(events.map(send));
    await Promise.all(handles.map((h) => h.result()));
    const times = rx
      .requests(path)
      .map((r) => r.at - sentAt)
      .sort((a, b) => a - b);
    assert.equal(times.length, 6);
    // Slots are 500 ms apart from the first reservation, made after the events were sent, and no send goes
    // before its slot: so the i-th arrival comes at least i x 500 ms after sending (less 100 ms of clock
    // slack between PostgreSQL and this process). A late first send may bunch up with the next ones; it
    // can never make the i-th come early. Unlimited, all six arrive within a few hundred ms.
    for (const [i, t] of times.entries()) {
      assert.ok(t >= i * 500 - 100, `arrival ${i} at +${t} ms (all: ${times.join(', ')})`);
    }
  });
});

describe('the SSRF guard at connect time', () => {
  it('refuses a host name that resolves to loopback when the allowlist does not permit it', async () => {
    const guarded = await startSystem({ ssrfAllow: [] });
    try {
      const gop = await guarded.createOperator();
      const env = testEnv();
      const cipher = createSecretCipher(env.encryptionKeys);
      const id = newEndpointId();
      const path = `/internal-${uniqueId('x')}`;
      // Saved directly: the API would refuse this URL, which is the point of the other check.
      await insertEndpoint(
        guarded.pool,
        gop.id,
        id,
        {
          url: rx.url(path).replace('127.0.0.1', 'localhost'),
          description: null,
          eventTypes: ['*'],
          affiliateId: null,
          format: 'webhook',
          headers: {},
          retryPolicy: { schedule: ['100ms'], jitter: 0 },
          timeoutMs: 2_000,
          rateLimitPerSecond: null,
          postback: null,
          enabled: true,
        },
        cipher.encrypt(generateWebhookSecret(), id),
      );
      const refused = await guarded.request('POST', '/v1/endpoints', {
        apiKey: gop.apiKey,
        json: { url: rx.url(path), eventTypes: ['*'] },
      });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.error.details[0].path, 'url');

      const reg = registration(uniqueId('player'));
      const accepted = await guarded.request('POST', '/v1/events', { apiKey: gop.apiKey, json: reg });
      assert.equal(accepted.status, 202);
      const result = await guarded.client.workflow.getHandle(eventWorkflowId(gop.id, reg.id)).result();
      assert.equal(result.deliveries[0]!.status, 'failed');
      const detail = await guarded.request('GET', `/v1/deliveries/${result.deliveries[0]!.deliveryId}`, {
        apiKey: gop.apiKey,
      });
      // Refused, and told like a name that does not resolve: the log must not map the internal DNS.
      assert.ok(
        detail.body.attempts.every(
          (a: any) => a.error === 'dns: localhost does not resolve to an address deliveries may reach',
        ),
        JSON.stringify(detail.body),
      );
      assert.equal(rx.requests(path).length, 0);
    } finally {
      await guarded.stop();
    }
  });
});
