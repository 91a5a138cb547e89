import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registration, uniqueId } from '../support/factories.js';
import {
  receiverInvariants,
  startHostileReceiver,
  unverified,
  type HostileReceiver,
  type Step,
} from '../support/hostile-receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Receivers that behave like real trackers and partners, one endpoint each, a handful of events each, all
 * running side by side. Whatever a receiver does, every delivery ends in the status the README's outcome
 * rules predict (the status line decides: a 2xx is accepted whatever its body then does; 3xx fails the
 * attempt; 410 disables the endpoint; 429 and 503 honour Retry-After; timeouts and resets are retried),
 * and the sender keeps its promises to the receiver: one POST per logged attempt, nothing sent under a
 * webhook-id after it was answered 2xx, one webhook-id per (event, endpoint).
 */

const EVENTS_PER_CASE = 3;
/** How long a case may take to become final; a delivery still open after it is a finding. */
const FINAL_WITHIN_MS = 45_000;

interface Case {
  steps: Step[];
  endpoint?: Record<string, unknown>;
  /** The final status of every delivery, or a check over them all. */
  expect: 'succeeded' | 'failed';
  /** Attempts each delivery makes, when the script fixes it. */
  attempts: number;
}

const schedule = (...waits: string[]) => ({ retryPolicy: { schedule: waits, jitter: 0 } });

const cases: Record<string, Case> = {
  'plain 200': { steps: [{ kind: 'ok' }], expect: 'succeeded', attempts: 1 },
  '200 with a binary 1x1 GIF (NUL bytes)': { steps: [{ kind: 'gif' }], expect: 'succeeded', attempts: 1 },
  '200 with content-encoding gzip that does not decode': {
    steps: [{ kind: 'gzip-garbage' }],
    expect: 'succeeded',
    attempts: 1,
  },
  '200 with a UTF-16 body': { steps: [{ kind: 'utf16' }], expect: 'succeeded', attempts: 1 },
  '200 with a 10 MB body': { steps: [{ kind: 'big' }], expect: 'succeeded', attempts: 1 },
  '200 at once, then the body trickled for longer than the timeout': {
    steps: [{ kind: 'trickle', forMs: 3_000 }],
    endpoint: { timeout: '1s', ...schedule('500ms', '500ms') },
    expect: 'succeeded',
    attempts: 1,
  },
  '200 headers, then the connection reset mid-body': {
    steps: [{ kind: 'reset-after-headers' }],
    expect: 'succeeded',
    attempts: 1,
  },
  '5xx twice, then 200': {
    steps: [{ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'ok' }],
    endpoint: schedule('300ms', '300ms', '300ms'),
    expect: 'succeeded',
    attempts: 3,
  },
  'always 500': {
    steps: [{ kind: 'status', status: 500, body: 'boom' }],
    endpoint: schedule('300ms', '300ms'),
    expect: 'failed',
    attempts: 3,
  },
  'never answers, then 200': {
    steps: [{ kind: 'hang' }, { kind: 'ok' }],
    endpoint: { timeout: '500ms', ...schedule('300ms', '300ms') },
    expect: 'succeeded',
    attempts: 2,
  },
  'connection reset before any answer, then 200': {
    steps: [{ kind: 'reset' }, { kind: 'ok' }],
    endpoint: schedule('300ms', '300ms'),
    expect: 'succeeded',
    attempts: 2,
  },
  'always 302 (redirects are not followed)': {
    steps: [{ kind: 'status', status: 302, headers: { location: '/elsewhere' } }],
    endpoint: schedule('300ms', '300ms'),
    expect: 'failed',
    attempts: 3,
  },
  '429 with Retry-After: 2, then 200': {
    steps: [{ kind: 'status', status: 429, headers: { 'retry-after': '2' } }, { kind: 'ok' }],
    endpoint: schedule('1s'),
    expect: 'succeeded',
    attempts: 2,
  },
};

/**
 * Cases that fail on the code before issue 11's fixes: a body that PostgreSQL cannot store (NUL bytes) or
 * a body still arriving when the timeout fires turns an accepted attempt into a resend.
 */

let sys: System;
let rx: HostileReceiver;
const runs = new Map<string, Promise<CaseRun>>();

interface CaseRun {
  path: string;
  operatorId: string;
  endpointId: string;
  secret: string;
  deliveries: { id: string; status: string; attempts: number; eventId: string; log: string | null }[];
}

before(async () => {
  sys = await startSystem();
  rx = await startHostileReceiver();
  // Every case at once: the slowest sets the file's duration, not their sum.
  for (const [name, c] of Object.entries(cases)) runs.set(name, runCase(name, c));
  // A rejected run fails its own test, not the hook.
  for (const run of runs.values()) run.catch(() => undefined);
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

async function runCase(name: string, c: Case): Promise<CaseRun> {
  const op = await sys.createOperator(`hostile ${name}`);
  const path = `/${uniqueId('rx')}`;
  rx.script(path, c.steps);
  const res = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url(path), eventTypes: ['customer.registered'], ...schedule('300ms'), ...c.endpoint },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  rx.verifyWith(path, res.body.secret);
  for (let i = 0; i < EVENTS_PER_CASE; i++) {
    const sent = await sys.request('POST', '/v1/events', {
      apiKey: op.apiKey,
      json: registration(uniqueId('player')),
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
  }
  return {
    path,
    operatorId: op.id,
    endpointId: res.body.id,
    secret: res.body.secret,
    deliveries: await final(op.id),
  };
}

/**
 * The operator's deliveries once its events are all processed and no delivery is open, or as they stand
 * when FINAL_WITHIN_MS has passed. `log` lists each attempt's status code or error, for the failure message.
 */
async function final(operatorId: string): Promise<CaseRun['deliveries']> {
  const deadline = Date.now() + FINAL_WITHIN_MS;
  for (;;) {
    // Events first: an event is marked processed in the transaction that creates its deliveries.
    const { rows: events } = await sys.pool.query(
      `SELECT count(*) FILTER (WHERE status = 'processed')::int AS processed FROM events WHERE operator_id = $1`,
      [operatorId],
    );
    const { rows } = await sys.pool.query(
      `SELECT d.id, d.status, d.event_id AS "eventId",
              (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempts,
              (SELECT string_agg(coalesce(a.status_code::text, a.error_class || ': ' || a.error_message), ' / '
                                 ORDER BY a.number)
                 FROM delivery_attempts a WHERE a.delivery_id = d.id) AS log
         FROM deliveries d WHERE d.operator_id = $1 ORDER BY d.created_at`,
      [operatorId],
    );
    const open = rows.filter((d) => !['succeeded', 'failed', 'cancelled'].includes(d.status));
    if ((events[0].processed === EVENTS_PER_CASE && !open.length) || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the receiver saw, per webhook-id. */
function postsById(path: string): Map<string, number> {
  const posts = new Map<string, number>();
  for (const r of rx.requests(path)) posts.set(r.webhookId ?? '', (posts.get(r.webhookId ?? '') ?? 0) + 1);
  return posts;
}

/** The invariants every case holds, whatever its receiver does. */
function assertPromisesKept(run: CaseRun) {
  const posts = postsById(run.path);
  assert.deepEqual(
    run.deliveries.map((d) => [d.id, posts.get(d.id) ?? 0]),
    run.deliveries.map((d) => [d.id, d.attempts]),
    `POSTs the receiver saw for each delivery = its logged attempts; attempts: ${run.deliveries
      .map((d) => d.log)
      .join(' | ')}; received: ${rx
      .requests(run.path)
      .map((r) => `${r.webhookId} ${r.answered}`)
      .join(' | ')}`,
  );
  const found = receiverInvariants(rx.requests(run.path));
  assert.deepEqual(
    found.resentAfterSuccess.map((r) => `${r.webhookId} #${r.nth}`),
    [],
    'no webhook-id is sent again after the receiver answered it 2xx',
  );
  assert.deepEqual(found.splitDeliveries, [], 'one webhook-id per (event, endpoint)');
  assert.deepEqual(
    unverified(rx.requests(run.path)).map((u) => `${u.request.webhookId}: ${u.why}`),
    [],
    'every request verified on receipt',
  );
}

describe('hostile receivers: every delivery ends as the outcome rules predict, one POST per logged attempt', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`when the receiver answers ${name}, then each delivery is ${c.expect} after ${c.attempts} attempt(s)`, async () => {
      const run = await runs.get(name)!;
      assert.deepEqual(
        run.deliveries.map((d) => [d.status, d.attempts]),
        Array.from({ length: EVENTS_PER_CASE }, () => [c.expect, c.attempts]),
        `${name}: [status, logged attempts] of each delivery; attempts: ${run.deliveries.map((d) => d.log).join(' | ')}`,
      );
      assertPromisesKept(run);
    });
  }
});

describe('a receiver that answers 410 Gone', () => {
  it('disables the endpoint: deliveries end failed (one 410 attempt) or cancelled (none), never retried', async () => {
    const op = await sys.createOperator('hostile 410');
    const path = `/${uniqueId('rx')}`;
    rx.script(path, [{ kind: 'status', status: 410 }]);
    const ep = await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: { url: rx.url(path), eventTypes: ['customer.registered'], ...schedule('300ms', '300ms') },
    });
    assert.equal(ep.status, 201);
    rx.verifyWith(path, ep.body.secret);
    for (let i = 0; i < EVENTS_PER_CASE; i++) {
      const sent = await sys.request('POST', '/v1/events', {
        apiKey: op.apiKey,
        json: registration(uniqueId('player')),
      });
      assert.equal(sent.status, 202);
    }
    const deliveries = await final(op.id);
    // An event accepted after the endpoint was disabled is not delivered to it at all.
    assert.ok(
      deliveries.length >= 1 && deliveries.length <= EVENTS_PER_CASE,
      `${deliveries.length} deliveries`,
    );
    for (const d of deliveries) {
      assert.ok(
        (d.status === 'failed' && d.attempts === 1) || (d.status === 'cancelled' && d.attempts === 0),
        `${d.id}: ${d.status} after ${d.attempts} attempts`,
      );
    }
    assert.ok(
      deliveries.some((d) => d.status === 'failed'),
      'the 410 was met at least once',
    );
    const got = await sys.request('GET', `/v1/endpoints/${ep.body.id}`, { apiKey: op.apiKey });
    assert.equal(got.body.enabled, false);
    assert.equal(got.body.disabledReason, 'gone');
    assertPromisesKept({
      path,
      operatorId: op.id,
      endpointId: ep.body.id,
      secret: ep.body.secret,
      deliveries,
    });
  });
});

describe('a receiver that answers 429 with Retry-After', () => {
  it('when it says Retry-After: 2, then the next attempt of that delivery waits at least 2 s', async () => {
    const run = await runs.get('429 with Retry-After: 2, then 200')!;
    for (const d of run.deliveries) {
      const [first, second] = rx.requests(run.path).filter((r) => r.webhookId === d.id);
      assert.ok(first && second, `${d.id}: two requests`);
      assert.ok(second.at - first.at >= 2_000, `${d.id}: waited ${second.at - first.at} ms`);
    }
  });
});

describe('a receiver that answers 302', () => {
  it('when it redirects, then the redirect is not followed', async () => {
    await runs.get('always 302 (redirects are not followed)')!;
    assert.equal(rx.requests('/elsewhere').length, 0);
  });
});
