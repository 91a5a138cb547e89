/**
 * Who receives an event (issue #11): operational events (`delivery.*`, `endpoint.*`) only at endpoints that
 * name them, never through `*`; and the fan-out query agrees with the pure rule of src/domain/matching.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { insertEndpoint, newEndpointId } from '../../src/db/endpoints.js';
import { findSubscribedEndpoints, findSubscriptions } from '../../src/db/endpoint-subscriptions.js';
import { ALL_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from '../../src/domain/event-types.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { subscribes } from '../../src/domain/matching.js';
import type { ProcessEventResult } from '../../workflows/index.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;

before(async () => {
  sys = await startSystem({ health: { disableAfterMs: 60_000, failingAfterAttempts: 2 } });
  rx = await startReceiver();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

type Operator = { id: string; apiKey: string };

async function createEndpoint(on: System, op: Operator, path: string, body: Record<string, unknown>) {
  const res = await on.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

async function send(on: System, op: Operator, event: Record<string, unknown>) {
  const res = await on.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

function resultOf(on: System, op: Operator, eventId: string): Promise<ProcessEventResult> {
  return on.client.workflow.getHandle(eventWorkflowId(op.id, eventId)).result();
}

async function operationalRows(operatorId: string): Promise<string[]> {
  const { rows } = await sys.pool.query<{ type: string }>(
    'SELECT type FROM events WHERE operator_id = $1 AND type = ANY($2) ORDER BY type',
    [operatorId, OPERATIONAL_EVENT_TYPES],
  );
  return rows.map((r) => r.type);
}

describe('operational events go only to endpoints that name them', () => {
  /** An operator with a catch-all endpoint and an endpoint that fails until its schedule is exhausted. */
  async function failingScenario(opsTypes: string[] | null) {
    const op = await sys.createOperator();
    const all = `/all-${uniqueId('x')}`;
    const ops = `/ops-${uniqueId('x')}`;
    const sick = `/sick-${uniqueId('x')}`;
    await createEndpoint(sys, op, all, { eventTypes: ['*'] });
    if (opsTypes) await createEndpoint(sys, op, ops, { eventTypes: opsTypes });
    rx.script(sick, [{ status: 500 }, { status: 500 }, { status: 500 }]);
    await createEndpoint(sys, op, sick, {
      eventTypes: ['customer.registered'],
      retryPolicy: { schedule: ['100ms', '100ms'], jitter: 0 },
    });
    const reg = registration(uniqueId('player'));
    await send(sys, op, reg);
    const result = await resultOf(sys, op, reg.id);
    return { op, all, ops, sick, reg, result };
  }

  it('when only a * endpoint listens, a delivery failing then exhausted emits no operational event, and * hears nothing of it', async () => {
    const s = await failingScenario(null);
    const statuses = s.result.deliveries.map((d) => d.status).sort();
    assert.deepEqual(statuses, ['failed', 'succeeded']);
    assert.equal(rx.requests(s.sick).length, 3);
    // Time for any operational event the failures would have caused to be recorded and delivered.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(await operationalRows(s.op.id), []);
    const types = rx.requests(s.all).map((r) => JSON.parse(r.body).type as string);
    assert.deepEqual(types, ['customer.registered']);
  });

  it('when an endpoint subscribes to delivery.*, the same failure is recorded and delivered there, and still not to *', async () => {
    const s = await failingScenario(['delivery.*']);
    assert.deepEqual(s.result.deliveries.map((d) => d.status).sort(), ['failed', 'succeeded']);
    const got = await rx.waitFor(s.ops, 2);
    assert.deepEqual(got.map((r) => JSON.parse(r.body).type).sort(), [
      'delivery.exhausted',
      'delivery.failing',
    ]);
    assert.deepEqual(await operationalRows(s.op.id), ['delivery.exhausted', 'delivery.failing']);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      rx.requests(s.all).map((r) => JSON.parse(r.body).type),
      ['customer.registered'],
    );
  });

  it('the fan-out query and the pure rule agree on every pattern, type and affiliate scope', async () => {
    const op = await sys.createOperator();
    const prefixes = [...new Set(ALL_EVENT_TYPES.map((t) => `${t.split('.')[0]}.*`))];
    const pattern = fc.constantFrom('*', ...ALL_EVENT_TYPES, ...prefixes, 'deposit.ft', 'delivery');
    const endpoint = fc.record({
      eventTypes: fc.array(pattern, { minLength: 1, maxLength: 3 }),
      affiliateId: fc.constantFrom(null, 'aff-1', 'aff-2'),
      enabled: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(endpoint, { minLength: 1, maxLength: 4 }),
        fc.subarray([...ALL_EVENT_TYPES], { minLength: 1, maxLength: 3 }),
        fc.constantFrom(null, 'aff-1', 'aff-2'),
        async (endpoints, types, affiliateId) => {
          await sys.pool.query('DELETE FROM endpoints WHERE operator_id = $1', [op.id]);
          const ids = new Map<string, (typeof endpoints)[number]>();
          for (const e of endpoints) {
            const id = newEndpointId();
            ids.set(id, e);
            await insertEndpoint(
              sys.pool,
              op.id,
              id,
              {
                url: 'https://example.com/hook',
                description: null,
                format: 'webhook',
                headers: {},
                retryPolicy: null,
                timeoutMs: 1_000,
                rateLimitPerSecond: null,
                postback: null,
                ...e,
              },
              'sealed',
            );
          }
          const expected = types.flatMap((type) =>
            [...ids].filter(([, e]) => subscribes(e, type, affiliateId)).map(([id]) => `${type} ${id}`),
          );
          // Accepted after these endpoints were written.
          const acceptedAt = new Date(Date.now() + 1_000).toISOString();
          const found = await findSubscriptions(sys.pool, op.id, types, affiliateId, acceptedAt);
          assert.deepEqual(found.map((s) => `${s.eventType} ${s.endpoint.id}`).sort(), expected.sort());
          for (const type of types) {
            const one = await findSubscribedEndpoints(sys.pool, op.id, type, affiliateId);
            assert.deepEqual(
              one.map((e) => e.id).sort(),
              [...ids]
                .filter(([, e]) => subscribes(e, type, affiliateId))
                .map(([id]) => id)
                .sort(),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
