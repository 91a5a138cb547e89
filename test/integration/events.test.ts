import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { applyEventTx } from '../../activities/apply-event.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { recordOnly } from '../support/recorded.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
});

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await sys.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function eventRowCount(operatorId: string, eventId: string): Promise<number> {
  const { rows } = await sys.pool.query(
    'SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = $2',
    [operatorId, eventId],
  );
  return rows[0].n;
}

describe('POST /v1/events', () => {
  it('when an event is accepted, then it answers 202 and its workflow runs under the business-key id', async () => {
    const event = registration(uniqueId('player'));
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const workflowId = eventWorkflowId(op.id, event.id);
    assert.deepEqual(res.body, { eventId: event.id, status: 'accepted', duplicate: false, workflowId });

    const handle = sys.client.workflow.getHandle(workflowId);
    const result = await handle.result();
    assert.deepEqual(result.emits, ['customer.registered']);
    const description = await handle.describe();
    assert.equal(description.type, 'processEvent');
    assert.equal(
      description.typedSearchAttributes.get({ name: 'OperatorId', type: 'KEYWORD' } as never),
      op.id,
    );

    const got = await sys.request('GET', `/v1/events/${event.id}`, { apiKey: op.apiKey });
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'processed');
    assert.equal(got.body.workflowId, workflowId);
    assert.deepEqual(got.body.data, { country: 'DE' });
    assert.deepEqual(got.body.attribution, event.attribution);
    assert.equal(got.body.sourceId, null);
  });

  it('when the same event is sent again with the same body (keys reordered), then 200 duplicate and nothing starts', async () => {
    const event = deposit(uniqueId('player'));
    const first = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    assert.equal(first.status, 202);
    const workflowId = eventWorkflowId(op.id, event.id);
    const handle = sys.client.workflow.getHandle(workflowId);
    await handle.result();
    const runId = (await handle.describe()).runId;

    const reordered = Object.fromEntries(Object.entries(event).reverse());
    const again = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reordered });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);

    const runs = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runs.push(wf.runId);
    assert.deepEqual(runs, [runId]);
    assert.equal(await eventRowCount(op.id, event.id), 1);
  });

  it('when the same id comes with a different body, then 409 event_conflict and the original stands', async () => {
    const event = deposit(uniqueId('player'));
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event })).status, 202);
    const changed = { ...event, data: { ...event.data, amount: '51.00' } };
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: changed });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'event_conflict');
    const got = await sys.request('GET', `/v1/events/${event.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.data.amount, '50.00');
  });

  describe('bad input gets its 4xx and leaves no row and no workflow', () => {
    const cases: {
      name: string;
      status: number;
      code: string;
      send: (id: string) => Parameters<System['request']>[2];
    }[] = [
      {
        name: 'malformed JSON',
        status: 400,
        code: 'invalid_json',
        send: (id) => ({ rawBody: `{"id":"${id}",`, headers: { 'content-type': 'application/json' } }),
      },
      {
        name: 'a non-JSON content type',
        status: 415,
        code: 'unsupported_media_type',
        send: (id) => ({
          rawBody: `id=${id}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      },
      {
        name: 'a body over 256 KiB',
        status: 413,
        code: 'payload_too_large',
        send: (id) => ({ json: { ...deposit('p1', { id }), data: { pad: 'x'.repeat(300 * 1024) } } }),
      },
      {
        name: 'an unknown event type',
        status: 422,
        code: 'validation_failed',
        send: (id) => ({ json: { ...deposit('p1', { id }), type: 'deposit.teleported' } }),
      },
      {
        name: 'a float amount',
        status: 422,
        code: 'validation_failed',
        send: (id) => ({
          json: deposit('p1', { id, data: { depositId: 'd1', amount: 50.5, currency: 'EUR' } }),
        }),
      },
      {
        name: 'a registration without attribution',
        status: 422,
        code: 'validation_failed',
        send: (id) => ({ json: { ...registration('p1', { id }), attribution: undefined } }),
      },
      {
        name: 'a misspelt top-level field',
        status: 422,
        code: 'validation_failed',
        send: (id) => ({ json: { ...deposit('p1', { id }), customerID: 'p1' } }),
      },
      {
        name: 'a bad occurredAt',
        status: 422,
        code: 'validation_failed',
        send: (id) => ({ json: deposit('p1', { id, occurredAt: 'yesterday' }) }),
      },
    ];
    for (const c of cases) {
      it(`${c.name} -> ${c.status} ${c.code}`, async () => {
        const id = uniqueId('bad');
        const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, ...c.send(id) });
        assert.equal(res.status, c.status, JSON.stringify(res.body));
        assert.equal(res.body.error.code, c.code);
        assert.equal(typeof res.body.error.message, 'string');
        if (c.status === 422) {
          assert.ok(res.body.error.details.length > 0);
          for (const d of res.body.error.details) assert.equal(typeof d.path, 'string');
        }
        assert.equal(await eventRowCount(op.id, id), 0);
        assert.equal(await workflowExists(eventWorkflowId(op.id, id)), false);
      });
    }

    it('a missing or wrong API key -> 401 and nothing recorded', async () => {
      const event = deposit('p1');
      const none = await sys.request('POST', '/v1/events', { json: event });
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthorized');
      const wrong = await sys.request('POST', '/v1/events', {
        apiKey: `${op.apiKey.slice(0, -2)}xx`,
        json: event,
      });
      assert.equal(wrong.status, 401);
      const garbage = await sys.request('POST', '/v1/events', { apiKey: 'not-a-key', json: event });
      assert.equal(garbage.status, 401);
      const { rows } = await sys.pool.query('SELECT 1 FROM events WHERE event_id = $1', [event.id]);
      assert.equal(rows.length, 0);
    });

    it('names the failing field in 422 details', async () => {
      const res = await sys.request('POST', '/v1/events', {
        apiKey: op.apiKey,
        json: deposit('p1', { data: { depositId: 'd1', amount: '-5', currency: 'euro' } }),
      });
      assert.equal(res.status, 422);
      const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
      assert.deepEqual(paths, ['data.amount', 'data.currency']);
    });
  });
});

describe('tenancy', () => {
  it("when another operator asks for an operator's event, then 404 exactly as if it did not exist", async () => {
    const other = await sys.createOperator();
    const event = deposit(uniqueId('player'));
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event })).status, 202);

    const foreign = await sys.request('GET', `/v1/events/${event.id}`, { apiKey: other.apiKey });
    const missing = await sys.request('GET', `/v1/events/${uniqueId()}`, { apiKey: other.apiKey });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, missing.body.error.code);

    // The same event id is free for the other operator: ids are scoped per tenant.
    const theirs = await sys.request('POST', '/v1/events', { apiKey: other.apiKey, json: event });
    assert.equal(theirs.status, 202);
    assert.notEqual(theirs.body.workflowId, eventWorkflowId(op.id, event.id));
  });

  it('operators are created only with the admin token, and their key is returned once', async () => {
    const denied = await sys.request('POST', '/v1/operators', { json: { name: 'x' }, apiKey: op.apiKey });
    assert.equal(denied.status, 401);
    // An operator's key is the wrong credential here: the answer names the one that is right.
    assert.match(denied.body.error.message, /admin token \(the ADMIN_TOKEN setting\)/);
    const none = await sys.request('POST', '/v1/operators', { json: { name: 'x' } });
    assert.equal(none.status, 401);
    assert.match(none.body.error.message, /ADMIN_TOKEN/);
    const created = await sys.request('POST', '/v1/operators', {
      json: { name: 'Casino Group' },
      headers: { authorization: `Bearer ${sys.adminToken}` },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^op_/);
    const { rows } = await sys.pool.query('SELECT secret_hash FROM api_keys WHERE operator_id = $1', [
      created.body.id,
    ]);
    assert.equal(rows.length, 1);
    // A 32-byte digest, and not the key's secret part (its last 43 characters: 32 bytes in base64url, which
    // may itself contain `_`).
    const secret: string = created.body.apiKey.slice(-43);
    assert.equal(rows[0].secret_hash.length, 32);
    assert.ok(!rows[0].secret_hash.includes(Buffer.from(secret)));
    assert.ok(!rows[0].secret_hash.toString('base64url').includes(secret));
  });
});

describe('what an event means', () => {
  it('when two first deposits race, then exactly one is the FTD', async () => {
    const customerId = uniqueId('player');
    await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: registration(customerId) });
    const deposits = Array.from({ length: 6 }, () => deposit(customerId));
    const answers = await Promise.all(
      deposits.map((d) => sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: d })),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      deposits.map(() => 202),
    );
    const results = await Promise.all(
      deposits.map((d) => sys.client.workflow.getHandle(eventWorkflowId(op.id, d.id)).result()),
    );
    const ftds = results.filter((r) => r.facts.ftd);
    assert.equal(ftds.length, 1);
    assert.deepEqual(ftds[0]!.emits, ['deposit.completed', 'deposit.ftd']);
    const { rows } = await sys.pool.query(
      'SELECT ftd_event_id FROM customers WHERE operator_id = $1 AND customer_id = $2',
      [op.id, customerId],
    );
    assert.ok(deposits.some((d) => d.id === rows[0].ftd_event_id));
  });

  it('when a deposit is applied before its already-recorded registration, then it still inherits it', async () => {
    // Two workflows of one customer race; record both events, then apply them in the unlucky order.
    const customerId = uniqueId('player');
    const reg = registration(customerId, { attribution: { affiliateId: 'aff-early', clickId: 'clk-2' } });
    const dep = deposit(customerId);
    const refs = [];
    for (const e of [reg, dep]) refs.push(await recordOnly(sys.pool, op.id, e));
    const applied = await applyEventTx(sys.pool, refs[1]!);
    assert.deepEqual(applied.facts, { effectiveAttribution: reg.attribution, ftd: true });
    const { rows } = await sys.pool.query(
      `SELECT attribution, attributed_by_event_id, country, registered_at FROM customers
        WHERE operator_id = $1 AND customer_id = $2`,
      [op.id, customerId],
    );
    assert.deepEqual(rows[0], {
      attribution: reg.attribution,
      attributed_by_event_id: reg.id,
      country: 'DE',
      registered_at: new Date(reg.occurredAt),
    });
    const late = await applyEventTx(sys.pool, refs[0]!);
    assert.deepEqual(late.facts, { effectiveAttribution: reg.attribution, ftd: false });
  });

  it('when a customer has no registration, then its deposit stays unattributed', async () => {
    const dep = deposit(uniqueId('player'));
    await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: dep });
    const result = await sys.client.workflow.getHandle(eventWorkflowId(op.id, dep.id)).result();
    assert.deepEqual(result.facts, { effectiveAttribution: null, ftd: true });
  });

  it('when a later event omits attribution, then it inherits the registration', async () => {
    const customerId = uniqueId('player');
    const reg = registration(customerId, { attribution: { affiliateId: 'aff-42', clickId: 'clk-1' } });
    await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id)).result();
    const dep = deposit(customerId);
    await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: dep });
    const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, dep.id));
    await handle.result();
    const got = await sys.request('GET', `/v1/events/${dep.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.attribution, null);
    assert.deepEqual(got.body.effectiveAttribution, { affiliateId: 'aff-42', clickId: 'clk-1' });
    assert.equal(got.body.derived.ftd, true);
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get({ name: 'AffiliateId', type: 'KEYWORD' } as never), 'aff-42');
  });
});
