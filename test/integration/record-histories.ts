/**
 * Records workflow histories as replay fixtures (run by hand when the workflow changes on purpose):
 *   npm test -- test/integration/record-histories.ts
 * Not a test file; test/unit/replay.test.ts replays what it writes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { customerWorkflowId, eventWorkflowId } from '../../src/domain/ids.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver } from '../support/receiver.js';
import { startSystem } from '../support/system.js';

const out = join(import.meta.dirname, '..', 'fixtures', 'histories');
const sys = await startSystem();
const rx = await startReceiver();
try {
  const op = await sys.createOperator();
  const affiliateId = uniqueId('aff');
  rx.script('/flaky', [{ status: 503, headers: { 'retry-after': '1' } }]);
  await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: {
      url: rx.url('/flaky'),
      eventTypes: ['deposit.*'],
      affiliateId,
      retryPolicy: { schedule: ['1s'] },
    },
  });
  await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: { url: rx.url('/ok'), eventTypes: ['customer.*', 'deposit.ftd'], affiliateId },
  });
  const customerId = uniqueId('player');
  const scenarios = {
    'registration-one-delivery': registration(customerId, { attribution: { affiliateId } }),
    'ftd-three-deliveries-one-retried': deposit(customerId),
  };
  for (const [name, event] of Object.entries(scenarios)) {
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    if (res.status !== 202) throw new Error(`${name}: ${res.status}`);
    const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id));
    await handle.result();
    const history = await handle.fetchHistory();
    // The proto3 JSON form, as `temporal workflow show --output json` and the Web UI export it.
    writeFileSync(join(out, `${name}.json`), historyToJSON(history));
    console.log(`recorded ${name}: ${history.events?.length} events`);
  }

  // The customer's commission workflow: an accrual held 2 s and approved by the timer, after which nothing
  // is pending and the run completes (the chargeback that follows starts the next run). The deposit's
  // signal arrives during the hold, so the history shows the hold timer kept (the `keep-hold-timer`
  // patch). customer-cpa-held-approved.json is the same scenario recorded before that patch (the timer
  // cancelled and started again); it stays, to prove such histories still replay.
  const earner = uniqueId('aff');
  await sys.request('PUT', `/v1/affiliates/${earner}`, {
    apiKey: op.apiKey,
    json: {
      name: 'Recorded',
      deal: { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod: '2s', clawbackWindow: '1h' },
    },
  });
  const player = uniqueId('player');
  const now = Date.now();
  const ftd = deposit(player, { occurredAt: new Date(now).toISOString() });
  for (const event of [
    registration(player, {
      attribution: { affiliateId: earner },
      occurredAt: new Date(now - 60_000).toISOString(),
    }),
    ftd,
  ]) {
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    if (res.status !== 202) throw new Error(`customer scenario: ${res.status}`);
  }
  for (;;) {
    const { rows } = await sys.pool.query(
      `SELECT count(*)::int AS n FROM commission_entries WHERE customer_id = $1 AND kind = 'approval'`,
      [player],
    );
    if (rows[0].n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const chargeback = {
    id: uniqueId('cb'),
    type: 'deposit.chargeback',
    occurredAt: new Date().toISOString(),
    customerId: player,
    data: {
      depositId: (ftd.data as { depositId: string }).depositId,
      amount: '50.00',
      currency: 'EUR',
      reason: 'r',
    },
  };
  await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: chargeback });
  const customer = sys.client.workflow.getHandle(customerWorkflowId(op.id, player));
  await customer.result();
  const history = await customer.fetchHistory();
  writeFileSync(join(out, 'customer-cpa-hold-timer-kept.json'), historyToJSON(history));
  console.log(`recorded customer-cpa-hold-timer-kept: ${history.events?.length} events`);
} finally {
  await rx.stop();
  await sys.stop();
}
