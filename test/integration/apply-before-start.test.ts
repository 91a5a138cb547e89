import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { acceptEvent, type AcceptDeps } from '../../src/ingest/accept-event.js';
import { reconcileOnce } from '../../src/ingest/reconciler.js';
import { createLogger } from '../../src/log.js';
import type { processEvent, ProcessEventInput } from '../../workflows/process-event.js';
import { inspectedPool } from '../support/attempt-by-hand.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { ageEvents, agedReconcilerDeps } from '../support/recorded.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The API applies a new event (attribution, first deposit, deliveries) between recording it and starting
 * its workflow, and hands the run the delivery plans: the run's first activation makes the first attempts,
 * with no local activity before them (issue 16: one workflow activation per event on the happy path).
 * What must not change: a start that fails after the event was applied leaves it to the reconciler, and
 * it is delivered once; an apply that fails leaves it to the workflow.
 */
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

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

async function createEndpoint(path: string, affiliateId: string) {
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['*'], affiliateId },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function historyOf(workflowId: string): Promise<HistoryEvent[]> {
  return (await sys.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

function inputOf(events: HistoryEvent[]): ProcessEventInput {
  const payload = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return defaultPayloadConverter.fromPayload(payload);
}

const localActivities = (events: HistoryEvent[]) =>
  events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;

async function rowOf(eventId: string) {
  const { rows } = await sys.pool.query<{
    status: string;
    workflow_started_at: Date | null;
    acknowledged_at: Date | null;
  }>(
    'SELECT status, workflow_started_at, acknowledged_at FROM events WHERE operator_id = $1 AND event_id = $2',
    [op.id, eventId],
  );
  return rows[0];
}

async function deliveryRows(eventId: string) {
  const { rows } = await sys.pool.query<{ status: string; attempt_count: number }>(
    'SELECT status, attempt_count FROM deliveries WHERE operator_id = $1 AND event_id = $2',
    [op.id, eventId],
  );
  return rows;
}

function acceptDeps(over: Partial<AcceptDeps>): AcceptDeps {
  return {
    pool: sys.pool,
    client: async () => sys.client,
    start: { taskQueue: sys.taskQueue, eager: false, timeoutMs: 5_000 },
    logger: createLogger('silent'),
    ...over,
  };
}

describe('an event applied by the API before its workflow starts', () => {
  it("starts with its delivery plans: the first attempt is the run's only local activity, in one workflow task", async () => {
    const affiliateId = uniqueId('aff');
    const path = `/one-${affiliateId}`;
    const endpoint = await createEndpoint(path, affiliateId);
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries.length, 1);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 1);

    const events = await historyOf(workflowId);
    const input = inputOf(events);
    assert.equal(input.applied?.deliveries.length, 1);
    assert.equal(input.applied?.deliveries[0]!.endpointId, endpoint.id);
    assert.deepEqual(input.applied?.emits, ['customer.registered']);
    assert.equal(localActivities(events), 1, 'the first attempt alone: no applyEvent before it');
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1);
    const row = await rowOf(reg.id);
    assert.equal(row?.status, 'processed');
    assert.ok(row?.workflow_started_at && row.acknowledged_at);
    assert.deepEqual(await deliveryRows(reg.id), [{ status: 'succeeded', attempt_count: 1 }]);
  });

  it("a deposit inheriting its registration's affiliate starts findable by it (no upsert) and is the FTD", async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('player');
    const reg = registration(customerId, { attribution: { affiliateId } });
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg })).status, 202);
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id)).result();
    const dep = deposit(customerId);
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: dep })).status, 202);
    const workflowId = eventWorkflowId(op.id, dep.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.facts.ftd, true);
    assert.deepEqual(result.emits, ['deposit.completed', 'deposit.ftd']);
    assert.equal(result.facts.effectiveAttribution?.affiliateId, affiliateId);

    const events = await historyOf(workflowId);
    const fields = events[0]!.workflowExecutionStartedEventAttributes!.searchAttributes!.indexedFields!;
    assert.equal(defaultPayloadConverter.fromPayload(fields.AffiliateId!), affiliateId);
    assert.equal(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length, 0);
    assert.equal(localActivities(events), 0, 'no endpoint, no commission: nothing to do after the start');
    // Started, one workflow task (scheduled, started, completed), completed: as the README says.
    assert.equal(events.length, 5);
  });

  it("a commission event wakes its customer's settlement beside its attempts, and the commission accrues", async () => {
    const affiliateId = uniqueId('aff');
    const put = await sys.request('PUT', `/v1/affiliates/${affiliateId}`, {
      apiKey: op.apiKey,
      json: {
        name: 'Wake test',
        status: 'active',
        deal: { model: 'cpa', amount: '40.00', currency: 'EUR', holdPeriod: '30d', clawbackWindow: '90d' },
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const customerId = uniqueId('player');
    const reg = registration(customerId, {
      attribution: { affiliateId },
      occurredAt: new Date().toISOString(),
    });
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg })).status, 202);
    // A registration is a commission event: the customer's first wakes its settlement (no endpoint
    // subscribes, so the wake is the run's only local activity).
    const regWorkflow = eventWorkflowId(op.id, reg.id);
    await sys.client.workflow.getHandle(regWorkflow).result();
    const events = await historyOf(regWorkflow);
    assert.equal(inputOf(events).applied?.wakeAffiliateId, affiliateId);
    assert.equal(localActivities(events), 1, 'the wake');
    // The deposit wakes it again, or finds a wake on its way that reads it too: either way it accrues.
    const dep = deposit(customerId, { occurredAt: new Date().toISOString() });
    assert.equal((await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: dep })).status, 202);
    await sys.client.workflow.getHandle(eventWorkflowId(op.id, dep.id)).result();

    const deadline = Date.now() + 20_000;
    let list: { amount: string; status: string }[] = [];
    while (Date.now() < deadline) {
      const res = await sys.request('GET', `/v1/affiliates/${affiliateId}/commissions`, {
        apiKey: op.apiKey,
      });
      list = res.body.data;
      if (list.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(
      list.map((c) => [c.amount, c.status]),
      [['40.00', 'pending']],
    );
  });

  it('a start that fails after the event was applied leaves it unstarted: the reconciler starts it, delivered once', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/late-start-${affiliateId}`;
    await createEndpoint(path, affiliateId);
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    await assert.rejects(
      acceptEvent(
        acceptDeps({ client: () => Promise.reject(new Error('temporal is away')) }),
        op.id,
        reg as never,
      ),
      (err: { status?: number }) => err.status === 503,
    );
    // Applied (its delivery made), yet the start is unconfirmed: the reconciler's to take.
    const row = await rowOf(reg.id);
    assert.equal(row?.status, 'processed');
    assert.equal(row?.workflow_started_at, null, 'applying must not confirm a start that failed');
    assert.deepEqual(await deliveryRows(reg.id), [{ status: 'pending', attempt_count: 0 }]);

    await ageEvents(sys.pool, op.id, [reg.id]);
    const deps = agedReconcilerDeps(sys);
    // Other test files share this database: run it until this event's row is taken (bounded).
    for (let i = 0; i < 20 && !(await rowOf(reg.id))?.workflow_started_at; i++) await reconcileOnce(deps);
    // The sender's retry meanwhile is told 202 and starts nothing more.
    const retried = await acceptEvent(acceptDeps({}), op.id, reg as never);
    assert.equal(retried.duplicate, false);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries.length, 1);
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 1);
    assert.deepEqual(await deliveryRows(reg.id), [{ status: 'succeeded', attempt_count: 1 }]);
    // The reconciler's run applied nothing again: it took up the recorded facts and deliveries.
    assert.equal(inputOf(await historyOf(workflowId)).applied, undefined);
  });

  it('an apply that fails rolls its transaction back: the event is recorded alone, once, and its workflow applies it', async () => {
    const affiliateId = uniqueId('aff');
    const path = `/apply-fails-${affiliateId}`;
    await createEndpoint(path, affiliateId);
    // The transaction that records and applies the event fails at its subscribers, after its INSERT.
    const pool = inspectedPool(
      sys.pool,
      (s) =>
        s.name === 'apply-event:find-subscriptions-1'
          ? new Error('canceling statement due to user request')
          : undefined,
      { transactions: true },
    );
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const accepted = await acceptEvent(acceptDeps({ pool }), op.id, reg as never);
    assert.equal(accepted.duplicate, false);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.equal(result.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 1);
    const events = await historyOf(workflowId);
    assert.equal(inputOf(events).applied, undefined);
    assert.equal(localActivities(events), 2, 'applyEvent, then the first attempt');
    assert.deepEqual(await deliveryRows(reg.id), [{ status: 'succeeded', attempt_count: 1 }]);
    const row = await rowOf(reg.id);
    assert.equal(row?.status, 'processed');
    assert.ok(row?.workflow_started_at && row.acknowledged_at);
  });
});
