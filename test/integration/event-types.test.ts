/**
 * `GET /v1/event-types` against real deliveries: the schemas the API serves accept the bodies endpoints
 * really receive, one of every type this walk can make happen (every type an operator sends, `deposit.ftd`,
 * the four commission notifications, the three affiliate events, `webhook.test`, and `endpoint.disabled` with the dead letter of a gone
 * endpoint). The other operational types are checked against the same schemas where their own tests make
 * them happen (test/support/documented.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ALL_EVENT_TYPES } from '../../src/domain/event-types.js';
import { uniqueId } from '../support/factories.js';
import { eventually } from '../support/eventually.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator('event types');
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

const api = (method: string, path: string, json?: unknown, apiKey: string | undefined = op.apiKey) =>
  sys.request(method, path, { apiKey, json });

async function send(event: Record<string, unknown>) {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

async function endpoint(path: string, fields: Record<string, unknown>) {
  const res = await api('POST', '/v1/endpoints', { url: rx.url(path), ...fields });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

describe('GET /v1/event-types', () => {
  it('answers the catalogue to an operator, one type by name, 404 for another name, 401 without a key', async () => {
    const all = await api('GET', '/v1/event-types');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.data.map((e: { type: string }) => e.type),
      [...ALL_EVENT_TYPES],
    );
    const one = await api('GET', '/v1/event-types/deposit.ftd');
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.body,
      all.body.data.find((e: { type: string }) => e.type === 'deposit.ftd'),
    );
    const unknown = await api('GET', '/v1/event-types/deposit.ftdd');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    assert.equal((await api('GET', '/v1/event-types', undefined, 'ahk_wrong')).status, 401);
  });

  it("validates a real delivered body of every type the walk makes against that type's served schema", async () => {
    const catalogue = (await api('GET', '/v1/event-types')).body.data as {
      type: string;
      kind: string;
      schema: object;
      example: { data: { details: Record<string, unknown> } };
    }[];
    const byType = new Map(catalogue.map((e) => [e.type, e]));
    const affiliateId = uniqueId('aff');
    const deal = {
      model: 'cpa',
      amount: '100.00',
      currency: 'EUR',
      qualification: { minFirstDeposit: '10.00' },
      holdPeriod: '30d',
      clawbackWindow: '90d',
    };
    const put = await api('PUT', `/v1/affiliates/${affiliateId}`, { name: affiliateId, deal });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    // `/all` refuses its first answers, so conversions arrive late, as under load (see arrivedAtAll); its
    // retries come a second apart, so they arrive within the test.
    const all = await endpoint('/all', {
      eventTypes: ['*'],
      affiliateId,
      retryPolicy: { schedule: Array(10).fill('1s'), jitter: 0 },
    });
    rx.script('/all', Array(8).fill({ status: 503 }));
    // Operational events reach only endpoints that name them; `/gone` answers 410 and is disabled.
    await endpoint('/ops', { eventTypes: ['endpoint.disabled', 'delivery.exhausted'] });
    await endpoint('/gone', { eventTypes: ['customer.registered'], affiliateId });
    rx.script('/gone', [{ status: 410 }]);

    const now = Date.now();
    const at = (minutes: number) => new Date(now - 60 * 60_000 + minutes * 60_000).toISOString();
    const customer = () => uniqueId('player');
    const register = (customerId: string) =>
      send({
        id: uniqueId('reg'),
        type: 'customer.registered',
        occurredAt: at(0),
        customerId,
        attribution: { affiliateId, clickId: 'c-9f1', subIds: { sub1: 'spring' } },
        data: { country: 'DE' },
      });
    const deposit = (customerId: string, minute: number) =>
      send({
        id: uniqueId('dep'),
        type: 'deposit.completed',
        occurredAt: at(minute),
        customerId,
        data: { depositId: `d-${customerId}`, amount: '50.00', currency: 'EUR' },
      });
    const commissionOf = (customerId: string) =>
      eventually(`${customerId}'s commission`, async () => {
        const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions`);
        return (res.body.data as { id: string; customerId: string }[]).find(
          (c) => c.customerId === customerId,
        );
      });

    // Delivered means answered 2xx and recorded so: `/all` refuses its first answers, so a request seen is
    // not yet a conversion received. The bodies name the customer; the deliveries list says which succeeded.
    const arrivedAtAll = (customerId: string, types: string[]) =>
      eventually(
        `${types.join(', ')} of ${customerId} delivered to /all`,
        async () => {
          const bodies = rx
            .requests('/all')
            .map(
              (r) => JSON.parse(r.body) as { type: string; data: { eventId: string; customerId?: string } },
            )
            .filter((g) => g.data.customerId === customerId);
          for (const type of types) {
            const sent = new Set(bodies.filter((g) => g.type === type).map((g) => g.data.eventId));
            if (!sent.size) return undefined;
            const res = await api(
              'GET',
              `/v1/deliveries?endpointId=${all.id}&eventType=${type}&status=succeeded&limit=500`,
            );
            const delivered = (res.body.data as { eventId: string }[]).some((d) => sent.has(d.eventId));
            if (!delivered) return undefined;
          }
          return true;
        },
        90_000,
      );

    // Approved by hand, then charged back: accrued, approved, reversed.
    const a = customer();
    await register(a);
    await deposit(a, 1);
    const ca = await commissionOf(a);
    assert.equal((await api('POST', `/v1/commissions/${ca.id}/approve`)).status, 200);
    // A reversal or rejection overtakes a conversion its endpoint has not yet received: the endpoint then
    // gets neither (src/commission/notify.ts). Each undoing waits until its conversion has arrived, or a
    // slow delivery under load leaves the walk without its commission.reversed / commission.rejected.
    await arrivedAtAll(a, ['deposit.completed', 'deposit.ftd', 'commission.accrued', 'commission.approved']);
    await send({
      id: uniqueId('cb'),
      type: 'deposit.chargeback',
      occurredAt: at(3),
      customerId: a,
      data: { depositId: `d-${a}`, amount: '50.00', currency: 'EUR', reason: 'dispute' },
    });
    // Rejected by hand.
    const b = customer();
    await register(b);
    await deposit(b, 1);
    const cb = await commissionOf(b);
    await arrivedAtAll(b, ['deposit.completed', 'deposit.ftd', 'commission.accrued']);
    assert.equal(
      (await api('POST', `/v1/commissions/${cb.id}/reject`, { reason: 'duplicate player' })).status,
      200,
    );
    // Every other type an operator sends, with the catalogue's own example data.
    const c = customer();
    await register(c);
    const rest = catalogue.filter(
      (e) =>
        e.kind === 'inbound' &&
        !['customer.registered', 'deposit.completed', 'deposit.chargeback'].includes(e.type),
    );
    for (const [i, e] of rest.entries())
      await send({
        id: uniqueId('ev'),
        type: e.type,
        occurredAt: at(10 + i),
        customerId: c,
        data: e.example.data.details,
      });
    assert.equal((await api('POST', `/v1/endpoints/${all.id}/test`)).status, 202);
    // The affiliate events, of an affiliate of their own (its suspension would stop the walk's commissions).
    const other = uniqueId('aff');
    await endpoint('/affs', { eventTypes: ['affiliate.*'], affiliateId: other });
    for (const [fields, status] of [
      [{}, 201],
      [{ status: 'suspended' }, 200],
      [{ deal: { ...deal, amount: '120.00' } }, 200],
    ] as const) {
      const res = await api('PUT', `/v1/affiliates/${other}`, { name: other, deal, ...fields });
      assert.equal(res.status, status, JSON.stringify(res.body));
    }

    const expected = new Set([
      ...catalogue.filter((e) => e.kind !== 'operational').map((e) => e.type),
      'endpoint.disabled',
    ]);
    let missing: string[] = [];
    const bodies = await eventually(
      'a body of every expected type',
      async () => {
        const got = [...rx.requests('/all'), ...rx.requests('/ops'), ...rx.requests('/affs')].map(
          (r) => JSON.parse(r.body) as { type: string },
        );
        const seen = new Set(got.map((g) => g.type));
        missing = [...expected].filter((t) => !seen.has(t));
        return missing.length ? undefined : got;
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; still missing: ${missing.join(', ')}`);
    });
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const body of bodies) {
      const entry = byType.get(body.type);
      assert.ok(entry, `${body.type} is in the catalogue`);
      const validate = ajv.compile(entry.schema);
      assert.ok(validate(body), `${body.type}: ${JSON.stringify(validate.errors)}`);
    }
  });
});
