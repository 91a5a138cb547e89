import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { customerWorkflowId } from '../../src/domain/ids.js';
import { testEnv } from '../support/env.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';
import { spawnWorker } from '../support/worker-process.js';

/**
 * The worker process is killed (SIGKILL) in the middle of a chargeback saga: after the transaction that
 * books the reversal and records its notification committed, before the notification's workflow starts
 * and before the overtaken delivery's workflow hears of its cancellation. A new worker must finish it:
 * one reversal, the notification delivered once, the ledger's balances equal to its entries.
 */
const env = testEnv();
let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };
const markers = mkdtempSync(join(env.tmpDir ?? tmpdir(), 'faults-'));
const children: ChildProcess[] = [];
const outputs: (() => string)[] = [];
const t0 = Date.now();
/** Phase times, printed with any failure: where a slow run spent its time. */
const phases: string[] = [];
const mark = (what: string) => phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);

function startWorker(extra: NodeJS.ProcessEnv = {}) {
  const worker = spawnWorker(sys.taskQueue, extra);
  children.push(worker.child);
  outputs.push(worker.output);
  return worker;
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${phases.join('; ')})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  // The API in this process (no worker: events start on the task queue the worker processes poll).
  sys = await startSystem({ worker: false, eager: false });
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sys?.stop();
  await rx?.stop();
});

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });

describe('a worker killed in the middle of a chargeback saga', () => {
  // Two worker processes start (tsx compiles each) and a dead worker's workflow task must time out: on a
  // loaded machine this takes minutes, not seconds.
  it(
    'resumes on a new worker: one reversal, every notification once, balances equal to the entries',
    { timeout: 300_000 },
    async () => {
      try {
        await scenario();
      } catch (err) {
        // Where the time went, and what the worker processes said: the one clue a rare failure leaves.
        const said = children.map((c, i) => `worker ${i + 1} (exit ${c.exitCode}):\n${outputs[i]?.() ?? ''}`);
        (err as Error).message += `\nphases: ${phases.join('; ')}\n${said.join('\n')}`;
        throw err;
      }
    },
  );
});

/** The scenario: accrue, approve, charge back, kill the worker after the commit, restart, check. */
async function scenario() {
  const affiliateId = uniqueId('aff');
  const customerId = uniqueId('player');
  const path = `/saga/${affiliateId}`;
  const put = await api('PUT', `/v1/affiliates/${affiliateId}`, {
    name: 'Saga',
    deal: { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod: '1h', clawbackWindow: '90d' },
  });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const ep = await api('POST', '/v1/endpoints', {
    url: rx.url(path),
    eventTypes: ['commission.*'],
    affiliateId,
  });
  assert.equal(ep.status, 201);

  mark('worker 1 starting');
  const first = startWorker({
    FAULT_PAUSE_AT: 'commission-compensation-committed',
    FAULT_MARKER_DIR: markers,
  });
  const now = Date.now();
  const depositId = uniqueId('dep');
  for (const event of [
    {
      id: uniqueId('reg'),
      type: 'customer.registered',
      occurredAt: new Date(now - 60_000).toISOString(),
      customerId,
      attribution: { affiliateId, clickId: 'c-1' },
      data: { country: 'DE' },
    },
    {
      id: uniqueId('dep'),
      type: 'deposit.completed',
      occurredAt: new Date(now - 30_000).toISOString(),
      customerId,
      data: { depositId, amount: '50.00', currency: 'EUR' },
    },
  ]) {
    const res = await api('POST', '/v1/events', event);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  }
  const commission = await eventually(
    'the accrual',
    async () => {
      const res = await api('GET', `/v1/affiliates/${affiliateId}/commissions`);
      return res.body.data?.[0] ?? null;
    },
    120_000,
  );
  mark('accrued');
  const approved = await api('POST', `/v1/commissions/${commission.id}/approve`);
  assert.equal(approved.status, 200, JSON.stringify(approved.body));

  const cb = {
    id: uniqueId('cb'),
    type: 'deposit.chargeback',
    occurredAt: new Date().toISOString(),
    customerId,
    data: { depositId, amount: '50.00', currency: 'EUR', reason: 'stolen card' },
  };
  assert.equal((await api('POST', '/v1/events', cb)).status, 202);

  // The first worker stops right after the commit: the reversal is booked, its notification recorded but
  // not started. Kill it there.
  await eventually(
    'the fault point',
    async () => existsSync(join(markers, 'commission-compensation-committed')),
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nfirst worker:\n${first.output()}`);
  });
  mark('at the fault point');
  const { rows: midway } = await sys.pool.query(
    `SELECT e.kind, n.workflow_started_at FROM commission_entries e
     LEFT JOIN events n ON n.commission_entry_id = e.id
    WHERE e.operator_id = $1 AND e.affiliate_id = $2 ORDER BY e.seq`,
    [op.id, affiliateId],
  );
  assert.deepEqual(
    midway.map((r) => [r.kind, r.workflow_started_at === null]),
    [
      ['accrual', false],
      ['approval', false],
      ['reversal', true],
    ],
    'killed between the commit and the dispatch',
  );
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));

  mark('worker 1 killed');
  const second = startWorker();
  const reversedNotice = await eventually(
    'commission.reversed delivered',
    async () => {
      const got = rx.requests(path).filter((r) => JSON.parse(r.body).type === 'commission.reversed');
      return got.length ? got : null;
    },
    180_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nsecond worker:\n${second.output()}`);
  });

  mark('reversal delivered');
  // The customer workflow finishes: nothing left pending.
  const result = await sys.client.workflow.getHandle(customerWorkflowId(op.id, customerId)).result();
  assert.ok(result.booked >= 0);
  await new Promise((r) => setTimeout(r, 1500)); // anything sent twice would arrive by now

  const wh = new Webhook(ep.body.secret);
  const types = rx
    .requests(path)
    .map((r) => (wh.verify(r.body, r.headers as Record<string, string>) as any).type);
  assert.deepEqual(types.sort(), ['commission.accrued', 'commission.approved', 'commission.reversed']);
  assert.equal(reversedNotice.length, 1);
  const body = JSON.parse(reversedNotice[0]!.body);
  assert.equal(body.data.details.amount, '-100.00');
  assert.equal(body.data.details.reversalOf, commission.id);

  const { rows: entries } = await sys.pool.query(
    `SELECT kind, amount::text FROM commission_entries WHERE operator_id = $1 AND affiliate_id = $2 ORDER BY seq`,
    [op.id, affiliateId],
  );
  assert.deepEqual(
    entries.map((r) => r.kind),
    ['accrual', 'approval', 'reversal'],
  );
  const balance = await api('GET', `/v1/affiliates/${affiliateId}/balance`);
  assert.deepEqual(balance.body.balances, [
    { currency: 'EUR', pending: '0.00', approved: '100.00', reversed: '-100.00', payable: '0.00' },
  ]);
  const { rows: unstarted } = await sys.pool.query(
    `SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND customer_id = $2 AND workflow_started_at IS NULL`,
    [op.id, customerId],
  );
  assert.equal(unstarted[0].n, 0);
  second.child.kill('SIGTERM');
}
