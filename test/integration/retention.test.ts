/**
 * Retention (issue 15, item 6): the scheduled clean-up deletes the events, deliveries, attempt logs and
 * inbound replay records past their periods, and keeps whatever a later chargeback, reversal postback or
 * attribution still needs; the ledger is never touched. Rows are made old by backdating their times in
 * SQL (the fixture helpers below), after the real system has processed them; the clean-up then runs as
 * production runs it: its Schedule starts the workflow, whose activity deletes in batches.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { CleanUpResult } from '../../activities/index.js';
import { cleanUpInputFrom, RETENTION_SETTINGS } from '../../src/config/retention.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { ensureRetentionSchedule } from '../../src/temporal/retention-schedule.js';
import { uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';
import { startTracker, type Tracker } from '../support/tracker.js';

let sys: System;
let op: { id: string; apiKey: string };
let tracker: Tracker;

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
  tracker = await startTracker();
});
after(async () => {
  await sys?.stop();
  await tracker?.stop();
});

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, json });

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function send<T extends { id: string }>(event: T, wait = true): Promise<T> {
  const res = await api('POST', '/v1/events', event);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  if (wait) await sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id)).result();
  return event;
}

const now = () => new Date().toISOString();
let seq = 0;
const event = (type: string, customerId: string, data: Record<string, unknown>, extra = {}) => ({
  id: uniqueId(`${type.split('.')[1]}-${++seq}`),
  type,
  occurredAt: now(),
  customerId,
  data,
  ...extra,
});
const attributed = (affiliateId: string, customerId: string) => ({
  attribution: { affiliateId, clickId: `click-${customerId}` },
});
const deposit = (customerId: string, extra = {}) =>
  event(
    'deposit.completed',
    customerId,
    { depositId: uniqueId('dep'), amount: '50.00', currency: 'EUR' },
    extra,
  ) as ReturnType<typeof event> & { data: { depositId: string } };

// Fixture helpers: make rows old. Each moves the times retention reads (an event's acceptance, a
// delivery's creation and end, an attempt's start) `days` into the past.
const DAYS = "$2::int * interval '1 day'";

async function ageEvents(eventIds: string[], days: number) {
  await sys.pool.query(
    `UPDATE events SET received_at = now() - ${DAYS} WHERE operator_id = $1 AND event_id = ANY($3)`,
    [op.id, days, eventIds],
  );
}
async function ageDeliveries(eventIds: string[], days: number) {
  await sys.pool.query(
    `UPDATE deliveries SET created_at = now() - ${DAYS}, updated_at = now() - ${DAYS},
            completed_at = CASE WHEN completed_at IS NOT NULL THEN now() - ${DAYS} END
      WHERE operator_id = $1 AND event_id = ANY($3)`,
    [op.id, days, eventIds],
  );
}
async function ageAttempts(eventIds: string[], days: number) {
  await sys.pool.query(
    `UPDATE delivery_attempts SET started_at = now() - ${DAYS}
      WHERE delivery_id IN (SELECT id FROM deliveries WHERE operator_id = $1 AND event_id = ANY($3))`,
    [op.id, days, eventIds],
  );
}
async function age(eventIds: string[], days: number) {
  await ageEvents(eventIds, days);
  await ageDeliveries(eventIds, days);
  await ageAttempts(eventIds, days);
}

/** What is left of each event: its row, its deliveries, their attempts. */
async function leftOf(eventIds: string[]) {
  const { rows } = await sys.pool.query<{
    event_id: string;
    event: boolean;
    deliveries: number;
    attempts: number;
  }>(
    `SELECT x.event_id,
            EXISTS (SELECT 1 FROM events e WHERE e.operator_id = $1 AND e.event_id = x.event_id) AS event,
            (SELECT count(*)::int FROM deliveries d WHERE d.operator_id = $1 AND d.event_id = x.event_id) AS deliveries,
            (SELECT count(*)::int FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
              WHERE d.operator_id = $1 AND d.event_id = x.event_id) AS attempts
       FROM unnest($2::text[]) AS x (event_id)`,
    [op.id, eventIds],
  );
  return Object.fromEntries(
    rows.map((r) => [r.event_id, { event: r.event, deliveries: r.deliveries, attempts: r.attempts }]),
  );
}

const ledger = async () =>
  (await sys.pool.query('SELECT * FROM commission_entries WHERE operator_id = $1 ORDER BY seq', [op.id]))
    .rows;

async function commissions(affiliateId: string) {
  const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as { id: string; status: string; eventId: string; reversalOf: string | null }[];
}

async function deliveriesOf(eventId: string) {
  const { rows } = await sys.pool.query<{
    id: string;
    status: string;
    event_type: string;
    last_error: string;
  }>('SELECT id, status, event_type, last_error FROM deliveries WHERE operator_id = $1 AND event_id = $2', [
    op.id,
    eventId,
  ]);
  return rows;
}

describe('retention clean-up', () => {
  it('deletes exactly the expired rows, keeps what a later chargeback, reversal or attribution needs, and never the ledger', async () => {
    const affiliateId = uniqueId('aff');
    const put = await api('PUT', `/v1/affiliates/${affiliateId}`, {
      name: 'Retained',
      deal: {
        model: 'cpa',
        amount: '100.00',
        currency: 'EUR',
        qualification: { minFirstDeposit: '20.00' },
        holdPeriod: '1h',
        clawbackWindow: '365d',
      },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const endpoint = async (body: Record<string, unknown>) => {
      const res = await api('POST', '/v1/endpoints', body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    const trackerPath = `/ef-${affiliateId}`;
    await endpoint({
      format: 'postback',
      url: tracker.url(`${trackerPath}?nid=42`),
      eventTypes: ['deposit.*'],
      affiliateId,
      postback: { preset: 'everflow' },
    });
    const hooksEndpoint = await endpoint({
      url: tracker.url('/hooks'),
      eventTypes: ['customer.registered', 'customer.status_changed'],
    });
    // The first KYC change meets a 503 and waits an hour for its next attempt: an unfinished delivery.
    tracker.script('/kyc', [{ status: 503, body: 'busy' }]);
    await endpoint({
      url: tracker.url('/kyc'),
      eventTypes: ['customer.kyc_changed'],
      retryPolicy: { schedule: ['1h'] },
    });

    // A: registered (the binding), a first deposit that earned a CPA, approved, inside its clawback window.
    const a = uniqueId('player-a');
    const regA = await send(event('customer.registered', a, { country: 'DE' }, attributed(affiliateId, a)));
    // A second registration of A: the customer is bound by the first, so this one binds nothing.
    const regA2 = await send(event('customer.registered', a, { country: 'DE' }, attributed(affiliateId, a)));
    const depA = await send(deposit(a));
    const [earned] = await until('A to earn its CPA', async () => {
      const list = await commissions(affiliateId);
      return list.length === 1 && list;
    });
    assert.equal(earned!.eventId, depA.id);
    assert.equal((await api('POST', `/v1/commissions/${earned!.id}/approve`)).status, 200);
    // U: no affiliate. A KYC change stuck retrying, a status change, two deposits earning nothing.
    const u = uniqueId('player-u');
    const kycU = await send(event('customer.kyc_changed', u, { kycStatus: 'pending' }), false);
    await until('the KYC webhook of U to wait for its retry', async () => {
      const [d] = await deliveriesOf(kycU.id);
      return d?.status === 'retrying';
    });
    const kycA = await send(event('customer.kyc_changed', a, { kycStatus: 'verified' }));
    // P: a first deposit whose CPA is still pending (held an hour).
    const p = uniqueId('player-p');
    const regP = await send(event('customer.registered', p, { country: 'DE' }, attributed(affiliateId, p)));
    const depP = await send(deposit(p));
    await until('P to earn its CPA', async () => (await commissions(affiliateId)).length === 2);
    const statusU = await send(event('customer.status_changed', u, { status: 'active', reason: 'reopened' }));
    const depU1 = await send(deposit(u));
    const depU2 = await send(deposit(u));
    await until('A and P settled', async () => {
      const { rows } = await sys.pool.query(
        `SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = ANY($2) AND settled_at IS NULL`,
        [op.id, [regA.id, regA2.id, depA.id, kycA.id, regP.id, depP.id]],
      );
      return rows[0].n === 0;
    });

    // Inbound replay records of a source: one signed two days ago, one now.
    const sourceId = uniqueId('src');
    await sys.pool.query(
      `INSERT INTO sources (id, operator_id, name, verification, secret_sealed) VALUES ($1, $2, 'psp', 'hmac', 'x')`,
      [sourceId, op.id],
    );
    await sys.pool.query(
      `INSERT INTO inbound_messages (source_id, message_id, signed_at)
       VALUES ($1, 'old', now() - interval '2 days'), ($1, 'new', now())`,
      [sourceId],
    );
    // Its request log: one request eight days ago, one now.
    await sys.pool.query(
      `INSERT INTO inbound_requests (id, operator_id, source_id, created_at, method, ip, status)
       VALUES ($1 || '-old', $2, $1, now() - interval '8 days', 'POST', '127.0.0.1', 202),
              ($1 || '-new', $2, $1, now(), 'POST', '127.0.0.1', 202)`,
      [sourceId, op.id],
    );

    // Replays of an endpoint: one that ended 200 days ago, one that ended now, one still running since
    // 200 days ago (its workflow would go on: never deleted under it).
    const replayIds = ['old', 'new', 'running'].map((k) => `${uniqueId('rpl')}-${k}`);
    await sys.pool.query(
      `INSERT INTO endpoint_replays (id, operator_id, endpoint_id, after_xid, after_seq, until_xid, until_seq,
                                     event_types, workflow_id, status, cursor_xid, cursor_seq, created_at,
                                     updated_at, completed_at)
       SELECT t.id, $2, $3, '1', 0, '2', 0, ARRAY['*'], 'replay:' || t.id, t.status, '1', 0, t.at, t.at, t.done
         FROM (VALUES (($1::text[])[1], 'completed', now() - interval '200 days', now() - interval '200 days'),
                     (($1::text[])[2], 'completed', now(), now()),
                     (($1::text[])[3], 'running', now() - interval '200 days', NULL::timestamptz))
              AS t(id, status, at, done)`,
      [replayIds, op.id, hooksEndpoint],
    );

    // Everything 200 days old, past every period, except: U's first deposit (100 days: inside the
    // conversions period) and U's status change (40 days: only its attempt log has expired).
    await age([regA.id, regA2.id, depA.id, kycA.id, regP.id, depP.id, kycU.id, depU2.id], 200);
    await ageEvents([depU1.id], 100);
    await age([statusU.id], 40);
    const all = [regA, regA2, depA, kycA, regP, depP, kycU, statusU, depU1, depU2].map((e) => e.id);
    const before = await leftOf(all);
    const ledgerBefore = await ledger();
    assert.equal(ledgerBefore.length, 3, 'two accruals and an approval');

    // The Schedule the worker creates at start, on this test's task queue; a second call updates it.
    // The default periods (30 days for attempts, 90 for events and deliveries, 180 for conversions), in
    // batches of 2: the walk must go on past the rows it keeps.
    const input = { ...cleanUpInputFrom(z.object(RETENTION_SETTINGS).parse({})), batchSize: 2 };
    const scheduleId = uniqueId('retention');
    const opts = { scheduleId, taskQueue: sys.taskQueue, everyMs: 3_600_000, input };
    assert.equal(await ensureRetentionSchedule(sys.client, opts), 'created');
    assert.equal(await ensureRetentionSchedule(sys.client, opts), 'updated');
    const schedule = sys.client.schedule.getHandle(scheduleId);
    try {
      const described = await schedule.describe();
      assert.equal(described.action.type, 'startWorkflow');
      assert.equal(described.action.workflowType, 'cleanUpExpiredRows');
      assert.equal(described.action.taskQueue, sys.taskQueue);
      assert.deepEqual(described.action.args, [input]);
      await schedule.trigger();
      const run = await until('the triggered clean-up to start', async () => {
        const d = await schedule.describe();
        return (
          d.info.recentActions[0]?.action.workflow.workflowId ?? d.info.runningActions[0]?.workflow.workflowId
        );
      });
      const deleted = (await sys.client.workflow.getHandle(run).result()) as CleanUpResult;
      assert.ok(
        deleted.events >= 3 &&
          deleted.deliveries >= 2 &&
          deleted.inbound_messages >= 1 &&
          deleted.inbound_requests >= 1 &&
          deleted.endpoint_replays >= 1,
        JSON.stringify(deleted),
      );
    } finally {
      await schedule.delete();
    }

    const left = await leftOf(all);
    const gone = { event: false, deliveries: 0, attempts: 0 };
    assert.deepEqual(left, {
      // The binding registration stays (its webhook is an ordinary one, and goes); the second one goes.
      [regA.id]: { event: true, deliveries: 0, attempts: 0 },
      [regA2.id]: gone,
      // A's deposit earned a commission inside its clawback window: kept, with its deliveries (its
      // attempt log is 200 days old and goes: a reversal reads the deliveries, not their attempts).
      [depA.id]: { ...before[depA.id]!, attempts: 0 },
      [kycA.id]: gone,
      [regP.id]: { event: true, deliveries: 0, attempts: 0 },
      // P's deposit earned a commission still pending: kept, with its deliveries.
      [depP.id]: { ...before[depP.id]!, attempts: 0 },
      // An unfinished delivery keeps itself, its attempts and its event.
      [kycU.id]: before[kycU.id],
      // 40 days: the attempt log has expired, the delivery and the event have not.
      [statusU.id]: { event: true, deliveries: 1, attempts: 0 },
      // A conversion inside the conversions period stays; past it, it goes.
      [depU1.id]: { event: true, deliveries: 0, attempts: 0 },
      [depU2.id]: gone,
    });
    assert.ok(
      before[depA.id]!.deliveries === 2 && before[depA.id]!.attempts === 1 && before[kycU.id]!.attempts === 1,
      JSON.stringify(before),
    );
    const { rows: inbound } = await sys.pool.query(
      'SELECT message_id FROM inbound_messages WHERE source_id = $1 ORDER BY message_id',
      [sourceId],
    );
    assert.deepEqual(inbound, [{ message_id: 'new' }]);
    const { rows: requests } = await sys.pool.query(
      'SELECT id FROM inbound_requests WHERE source_id = $1 ORDER BY id',
      [sourceId],
    );
    assert.deepEqual(requests, [{ id: `${sourceId}-new` }], 'the request log keeps its last 7 days');
    const { rows: replays } = await sys.pool.query(
      'SELECT id FROM endpoint_replays WHERE id = ANY($1) ORDER BY id',
      [replayIds],
    );
    assert.deepEqual(
      replays.map((r) => r.id),
      [replayIds[1], replayIds[2]].sort(),
      'a replay that ended 200 days ago goes; a recent one and a running one stay',
    );
    assert.deepEqual(await ledger(), ledgerBefore, 'the ledger is untouched');

    // A chargeback of A's deposit after the clean-up: the commission is reversed, and the tracker that
    // counted the deposit gets the reversal (its conversion was kept to be named).
    const hitsBefore = tracker.paths().length;
    // The order id the tracker knows A's deposit by (its conversion, sent as deposit.ftd).
    const orderIds = tracker
      .queries(trackerPath)
      .map((q) => new URLSearchParams(q).get('order_id'))
      .filter((id) => id?.includes(depA.id));
    const cb = await send(
      event('deposit.chargeback', a, {
        depositId: depA.data.depositId,
        amount: '50.00',
        currency: 'EUR',
        reason: 'stolen card',
      }),
    );
    const list = await until('the commission to be reversed', async () => {
      const l = await commissions(affiliateId);
      return l.some((c) => c.reversalOf === earned!.id) && l;
    });
    assert.equal(list.find((c) => c.id === earned!.id)?.status, 'reversed');
    const after = await ledger();
    assert.deepEqual(after.slice(0, ledgerBefore.length), ledgerBefore);
    assert.deepEqual(
      after.slice(ledgerBefore.length).map((e) => [e.kind, e.amount, e.reversal_of]),
      [['reversal', '-100.00000000', earned!.id]],
    );
    const [cbDelivery] = await deliveriesOf(cb.id);
    assert.equal(cbDelivery?.status, 'succeeded', JSON.stringify(cbDelivery));
    assert.equal(orderIds.length, 1, JSON.stringify(tracker.queries(trackerPath)));
    const reversals = tracker.paths().slice(hitsBefore);
    assert.deepEqual(reversals, ['/reversal'], 'the reversal reached the tracker');
    const [reversal] = tracker.hits('/reversal');
    assert.equal(new URLSearchParams(reversal!.query).get('order_id'), orderIds[0], 'naming the deposit');
  });
});
