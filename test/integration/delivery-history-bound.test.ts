import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { attemptsOf } from '../../src/db/delivery-attempts.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import type { processEvent } from '../../workflows/process-event.js';
import { uniqueId, registration } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The event workflow's history is bounded: past a history length (here a low one, set through the
 * workflow's input) the run hands its unfinished deliveries to a new run (continue-as-new), which keeps
 * their schedules and attempt numbers.
 *
 * A failed server-side attempt adds nothing to the history (the workflow hears of a delivery's changes of
 * state only: its first failure, the wait after it, its end), so the history grows with deliveries,
 * changes of state and signals, not attempts. The limit is set low enough that the first run passes it
 * on its deliveries' first failures, while they go on retrying server-side: the next run must then take
 * each schedule up from PostgreSQL, since the run before never heard of the attempts after the first.
 */
const LIMIT = 20;
/** What a hand-off may add past the limit: cancelling the waiting attempts, a marker, the continue-as-new. */
const MARGIN = 30;

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem({ eventHistoryLimit: LIMIT });
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
    json: { url: rx.url(path), eventTypes: ['*'], ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string };
}

async function deliveryOf(eventId: string, endpointId: string) {
  const res = await sys.request('GET', `/v1/deliveries?eventId=${eventId}&endpointId=${endpointId}`, {
    apiKey: op.apiKey,
  });
  assert.equal(res.status, 200);
  return (res.body.data as { id: string }[])[0]?.id;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface Run {
  runId: string;
  events: number;
  continuedAsNew: boolean;
  /** The summaries of the run's timers: what the Web UI says each wait waits for. */
  timers: string[];
  /** The run was started with the event as the API applied it (the first run only; later ones reload it). */
  applied: boolean;
}

/** The runs of a workflow id, oldest first, each with its history length: follows the continue-as-new chain. */
async function runsOf(workflowId: string): Promise<Run[]> {
  const latest = await sys.client.workflow.getHandle(workflowId).describe();
  const first = latest.raw.workflowExecutionInfo?.firstRunId || latest.runId;
  const runs: Run[] = [];
  let runId: string | null | undefined = first;
  while (runId) {
    const history: { events?: HistoryEvent[] | null } = await sys.client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    const next: string | null | undefined =
      events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    const timers = events
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) =>
        e.userMetadata?.summary ? String(defaultPayloadConverter.fromPayload(e.userMetadata.summary)) : '',
      );
    const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const applied = Boolean(
      input && (defaultPayloadConverter.fromPayload(input) as { applied?: unknown }).applied,
    );
    runs.push({ runId, events: events.length, continuedAsNew: Boolean(next), timers, applied });
    runId = next;
  }
  return runs;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a long-running event continues as new', () => {
  it('when several endpoints fail many times, each run stays under the history limit and every schedule is kept across hand-offs', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    const waitMs = 800;
    const schedule = Array.from({ length: 8 }, () => `${waitMs}ms`); // 9 attempts
    // Two endpoints never answer 2xx (dead letter after 9 attempts); one succeeds at its 7th attempt.
    const plans = [
      { path: `/down-a-${affiliateId}`, fails: 9, status: 'failed' },
      { path: `/down-b-${affiliateId}`, fails: 9, status: 'failed' },
      { path: `/late-${affiliateId}`, fails: 6, status: 'succeeded' },
    ];
    const endpoints = [];
    for (const p of plans) {
      rx.script(
        p.path,
        Array.from({ length: p.fails }, () => ({ status: 500, body: 'down' })),
      );
      endpoints.push(await createEndpoint(p.path, { affiliateId, retryPolicy: { schedule, jitter: 0 } }));
    }
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const result = await sys.client.workflow.getHandle<typeof processEvent>(workflowId).result();

    const runs = await runsOf(workflowId);
    console.log(`runs: ${runs.length}, history lengths: ${runs.map((r) => r.events).join(', ')}`);
    assert.ok(runs.length >= 2, `continued as new at least once: ${runs.length} run(s)`);
    for (const run of runs) {
      assert.ok(
        run.events <= LIMIT + MARGIN,
        `run ${run.runId} has ${run.events} events, over the limit ${LIMIT} + ${MARGIN}`,
      );
    }
    assert.deepEqual(
      runs.map((r) => r.continuedAsNew),
      [...runs.slice(1).map(() => true), false],
    );
    // The API applied the event for the first run; a continued run reloads its deliveries instead of
    // carrying the first run's plans along.
    assert.deepEqual(
      runs.map((r) => r.applied),
      runs.map((_, i) => i === 0),
    );
    // Every wait says in the Web UI what it waits for, in a continued run too: the run before hands over
    // what the last attempt ran into.
    const host = new URL(rx.url('/')).host.replaceAll('.', '\\.');
    const waits = runs.flatMap((r) => r.timers);
    for (const summary of waits) {
      assert.match(
        summary,
        new RegExp(
          `^retry deliver customer\\.registered to ${host} \\(ep_\\w+\\) after HTTP 500, attempt [2-9] of 9$`,
        ),
      );
    }
    assert.ok(
      runs.slice(1).some((r) => r.timers.length),
      'a continued run waits out a handed-over schedule',
    );

    // The last run's result has every delivery, with its final status.
    for (const [i, p] of plans.entries()) {
      const deliveryId: string = (await deliveryOf(reg.id, endpoints[i]!.id))!;
      const final = result.deliveries.find((d) => d.deliveryId === deliveryId);
      assert.equal(final?.status, p.status, p.path);
      const attempts = await attemptsOf(sys.pool, deliveryId);
      const expected = p.status === 'failed' ? 9 : p.fails + 1;
      // Exactly the policy's attempts, numbered on across the runs, and the receiver saw each once.
      assert.deepEqual(
        attempts.map((a) => a.number),
        Array.from({ length: expected }, (_, n) => n + 1),
        p.path,
      );
      assert.equal(rx.requests(p.path).length, expected, p.path);
      // No attempt came early, across a hand-off either: each waited its schedule after the one before.
      for (let n = 1; n < attempts.length; n++) {
        const prev = attempts[n - 1]!;
        const due = prev.startedAt.getTime() + prev.durationMs + waitMs;
        assert.ok(
          attempts[n]!.startedAt.getTime() >= due - 50,
          `${p.path} attempt ${n + 1} started ${due - attempts[n]!.startedAt.getTime()} ms before it was due`,
        );
      }
    }
  });

  it('retry-now and cancel reach the deliveries of a continued run', async () => {
    const affiliateId = uniqueId('aff');
    const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
    // Quick failures, then an hour's wait.
    const schedule = [...Array.from({ length: 10 }, () => '300ms'), '1h', '1h'];
    const retried = `/retried-${affiliateId}`;
    const cancelled = `/cancelled-${affiliateId}`;
    rx.script(
      retried,
      Array.from({ length: 11 }, () => ({ status: 500 })),
    );
    rx.script(
      cancelled,
      Array.from({ length: 13 }, () => ({ status: 500 })),
    );
    const a = await createEndpoint(retried, { affiliateId, retryPolicy: { schedule, jitter: 0 } });
    const b = await createEndpoint(cancelled, { affiliateId, retryPolicy: { schedule, jitter: 0 } });
    // Failed attempts no longer grow the history: a third delivery that fails twice and then succeeds
    // ends while the other two are still retrying server-side, past the limit: the run hands them over
    // mid-schedule, and the next run must take their schedules up from PostgreSQL.
    const settles = `/settles-${affiliateId}`;
    rx.script(settles, [{ status: 500 }, { status: 500 }]);
    await createEndpoint(settles, { affiliateId, retryPolicy: { schedule: ['300ms', '300ms'], jitter: 0 } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
    assert.equal(res.status, 202);
    const workflowId = eventWorkflowId(op.id, reg.id);
    const handle: WorkflowHandle<typeof processEvent> = sys.client.workflow.getHandle(workflowId);
    const [aId, bId] = await until('the deliveries', async () => {
      const ids = [await deliveryOf(reg.id, a.id), await deliveryOf(reg.id, b.id)];
      return ids.every(Boolean) ? (ids as [string, string]) : undefined;
    });

    // Both deliveries wait their hour, held by a run that is not the first. The attempt counts are
    // PostgreSQL's: the workflow hears of a delivery's first failure, not of each retry since.
    await until('both deliveries waiting an hour in a continued run', async () => {
      const runs = await runsOf(workflowId);
      const counts = [(await attemptsOf(sys.pool, aId)).length, (await attemptsOf(sys.pool, bId)).length];
      const views = await handle.query<{ deliveryId: string; status: string }[]>('deliveries');
      const waiting = views.filter((v) => v.status === 'retrying');
      return runs.length >= 2 && waiting.length === 2 && counts.every((n) => n === 11) ? runs : undefined;
    });
    // Still findable by the Web UI's query: the search attributes moved with the run.
    const found: string[] = [];
    for await (const wf of sys.client.workflow.list({
      query:
        `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Running' AND DeliveryStatus = 'retrying' AND ` +
        `AffiliateId = '${affiliateId}' AND OperatorId = '${op.id}' AND EventId = '${reg.id}' AND ` +
        `EventType = 'customer.registered' AND CustomerId = '${reg.customerId}'`,
    })) {
      found.push(wf.workflowId);
    }
    assert.deepEqual(found, [workflowId]);

    const retry = await sys.request('POST', `/v1/deliveries/${aId}/retry`, { apiKey: op.apiKey });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const cancel = await sys.request('POST', `/v1/deliveries/${bId}/cancel`, { apiKey: op.apiKey });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    const result = await handle.result();
    assert.equal(result.deliveries.find((d) => d.deliveryId === aId)?.status, 'succeeded');
    assert.equal(result.deliveries.find((d) => d.deliveryId === bId)?.status, 'cancelled');
    assert.deepEqual(
      (await attemptsOf(sys.pool, aId)).map((x) => [x.number, x.statusCode]),
      [...Array.from({ length: 11 }, (_, n) => [n + 1, 500]), [12, 200]],
    );
    assert.equal((await attemptsOf(sys.pool, bId)).length, 11);
    const runs = await runsOf(workflowId);
    console.log(`runs: ${runs.length}, history lengths: ${runs.map((r) => r.events).join(', ')}`);
    for (const run of runs) assert.ok(run.events <= LIMIT + MARGIN, `${run.events} events`);
  });
});
