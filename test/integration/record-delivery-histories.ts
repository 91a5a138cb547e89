/**
 * Records replay fixtures of the delivery paths behind the `delivery-wait-for-cancelled-attempt` patch (run
 * by hand when those paths change on purpose; it writes only its own files):
 *   npm test -- test/integration/record-delivery-histories.ts
 * Not a test file; test/unit/replay.test.ts replays what it writes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { retryDeliverySignal } from '../../workflows/definitions.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver } from '../support/receiver.js';
import { startSystem } from '../support/system.js';

const out = join(import.meta.dirname, '..', 'fixtures', 'histories');
const sys = await startSystem();
const rx = await startReceiver();
try {
  const op = await sys.createOperator();
  const affiliateId = uniqueId('aff');
  // Attempt 1 fails, attempt 2 (a server-side retry) is slow; a retry-now lands while it is on the wire.
  rx.script('/slow-second', [{ status: 500 }, { status: 200, delayMs: 3_000 }]);
  await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: {
      url: rx.url('/slow-second'),
      eventTypes: ['customer.*'],
      affiliateId,
      retryPolicy: { schedule: ['1s'], jitter: 0 },
    },
  });
  const event = registration(uniqueId('player'), { attribution: { affiliateId } });
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  if (res.status !== 202) throw new Error(`event: ${res.status}`);
  const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id));
  await rx.waitFor('/slow-second', 2);
  const [d] = (await handle.query<{ deliveryId: string }[]>('deliveries')) ?? [];
  await handle.signal(retryDeliverySignal, { deliveryId: d!.deliveryId });
  await handle.result();
  const history = await handle.fetchHistory();
  const name = 'registration-retry-now-during-attempt';
  writeFileSync(join(out, `${name}.json`), historyToJSON(history));
  console.log(
    `recorded ${name}: ${history.events?.length} events, ${rx.requests('/slow-second').length} sends`,
  );
} finally {
  await rx.stop();
  await sys.stop();
}
