/**
 * Re-driven events stay findable by the README's Web UI queries (issue 14, item 4): the run a redrive
 * starts carries every search attribute (OperatorId, EventType, EventId, CustomerId, AffiliateId) and the
 * current DeliveryStatus, and once the redriven delivery has succeeded the event is no longer listed among
 * those with a dead-lettered delivery. Before, the new run carried AffiliateId alone, and the closed run
 * went on answering `DeliveryStatus = 'failed'`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { reopenFailedDeliveries } from '../../src/db/deliveries.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { SA } from '../../src/domain/search-attributes.js';
import { WORKFLOW_TYPES } from '../../src/temporal/task-queues.js';
import { redriveDeliveriesSignal } from '../../workflows/definitions.js';
import type { processEvent } from '../../workflows/process-event.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

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
  sys.request(method, path, { apiKey: op.apiKey, json });

async function createEndpoint(affiliateId: string, path: string) {
  const res = await api('POST', '/v1/endpoints', {
    url: rx.url(path),
    eventTypes: ['*'],
    affiliateId,
    retryPolicy: { schedule: ['100ms'], jitter: 0 },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function list(query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const wf of sys.client.workflow.list({ query })) found.push(wf);
  return found;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last ?? '')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a re-driven event in the Web UI queries', () => {
  it('after a redrive succeeds, the event is no longer listed as failed, and its run is found by every attribute', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('player');
    const okPath = `/ok-${affiliateId}`;
    const downPath = `/down-${affiliateId}`;
    rx.script(downPath, [{ status: 500 }, { status: 500 }]);
    await createEndpoint(affiliateId, okPath);
    const down = await createEndpoint(affiliateId, downPath);
    const event = registration(customerId, { attribution: { affiliateId } });
    const sent = await api('POST', '/v1/events', event);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const workflowId = eventWorkflowId(op.id, event.id);
    const first = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    assert.deepEqual(first.deliveries.map((d) => d.status).sort(), ['failed', 'succeeded']);

    // The README's dead-letter query finds it.
    const failedQuery = `DeliveryStatus = 'failed' AND OperatorId = '${op.id}'`;
    await until('the event listed as failed', async () =>
      (await list(failedQuery)).some((w) => w.workflowId === workflowId) ? true : undefined,
    );

    const firstRunId = (await sys.client.workflow.getHandle<typeof processEvent>(workflowId).describe())
      .runId;

    // Re-drive the dead letter; the receiver answers 200 now.
    const failed = first.deliveries.find((d) => d.endpointId === down.id)!;
    const retry = await api('POST', `/v1/deliveries/${failed.deliveryId}/retry`, {});
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const handle = sys.client.workflow.getHandle<typeof processEvent>(workflowId);
    const second = await until('the redriven run completed', async () => {
      const d = await handle.describe();
      return d.status.name === 'COMPLETED' && d.runId !== firstRunId ? d : undefined;
    });
    const result = await handle.result();
    assert.deepEqual(result.deliveries.map((d) => d.status).sort(), ['succeeded', 'succeeded']);

    // Every attribute on the run the redrive started, and the delivery status as it now is.
    const sa = second.typedSearchAttributes;
    assert.equal(sa.get(SA.OperatorId), op.id);
    assert.equal(sa.get(SA.EventType), 'customer.registered');
    assert.equal(sa.get(SA.EventId), event.id);
    assert.equal(sa.get(SA.CustomerId), customerId);
    assert.equal(sa.get(SA.AffiliateId), affiliateId);
    assert.deepEqual(sa.get(SA.DeliveryStatus), ['succeeded']);

    // The README's queries: no longer among the dead letters (the closed run that said so is gone) ...
    await until(
      'the event no longer listed as failed',
      async () => ((await list(failedQuery)).some((w) => w.workflowId === workflowId) ? undefined : true),
      // Temporal deletes a run asynchronously, after its queue's ack level passes the run's close (the
      // server's history.transferProcessorUpdateAckInterval, 30 s by default): 10 to 35 s measured here.
      90_000,
    );
    assert.equal((await sys.client.workflow.count(failedQuery)).count, 0);
    // ... and found by operator, type, id, customer, affiliate and its delivery status: this run alone.
    const byAttributes = await until('the redriven run found by its attributes', async () => {
      const found = await list(
        `OperatorId = '${op.id}' AND EventType = 'customer.registered' AND EventId = '${event.id}' AND ` +
          `CustomerId = '${customerId}' AND AffiliateId = '${affiliateId}' AND DeliveryStatus = 'succeeded'`,
      );
      return found.some((w) => w.runId === second.runId) ? found : undefined;
    });
    assert.deepEqual(
      byAttributes.map((w) => [w.workflowId, w.runId]),
      [[workflowId, second.runId]],
    );
  });

  it('a run a starter began without the event’s attributes (an older API, another service) sets them itself', async () => {
    const affiliateId = uniqueId('aff');
    const customerId = uniqueId('player');
    const path = `/bare-${affiliateId}`;
    rx.script(path, [{ status: 500 }, { status: 500 }]);
    await createEndpoint(affiliateId, path);
    const event = registration(customerId, { attribution: { affiliateId } });
    assert.equal((await api('POST', '/v1/events', event)).status, 202);
    const workflowId = eventWorkflowId(op.id, event.id);
    const first = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();
    const [failed] = first.deliveries;
    assert.equal(failed!.status, 'failed');

    // What a redrive did before: reopen in PostgreSQL, then signal-with-start with no search attributes.
    await reopenFailedDeliveries(sys.pool, op.id, [failed!.deliveryId]);
    const handle = await sys.client.workflow.signalWithStart(WORKFLOW_TYPES.processEvent, {
      workflowId,
      taskQueue: sys.taskQueue,
      args: [{ operatorId: op.id, eventId: event.id, type: 'customer.registered', customerId }],
      signal: redriveDeliveriesSignal,
      signalArgs: [{ deliveryIds: [failed!.deliveryId] }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    const result = (await handle.result()) as Awaited<ReturnType<typeof processEvent>>;
    assert.deepEqual(
      result.deliveries.map((d) => d.status),
      ['succeeded'],
    );
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.deepEqual(
      [SA.OperatorId, SA.EventType, SA.EventId, SA.CustomerId, SA.AffiliateId].map((k) => sa.get(k)),
      [op.id, 'customer.registered', event.id, customerId, affiliateId],
    );
    assert.deepEqual(sa.get(SA.DeliveryStatus), ['succeeded']);
  });
});
