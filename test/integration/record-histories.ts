/**
 * Records workflow histories as replay fixtures (run by hand when the workflow changes on purpose):
 *   npm test -- test/integration/record-histories.ts
 * Not a test file; test/unit/replay.test.ts replays what it writes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
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
} finally {
  await rx.stop();
  await sys.stop();
}
