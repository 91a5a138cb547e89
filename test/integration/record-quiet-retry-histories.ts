/**
 * Records replay fixtures of a level-1 event workflow's quick retries (a first retry due within seconds,
 * made locally and published only if it fails too). Run by hand when those paths change on purpose; it
 * writes only its own files:
 *   npm test -- test/integration/record-quiet-retry-histories.ts
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
  const record = async (
    name: string,
    path: string,
    script: { status: number }[],
    after?: (handle: ReturnType<typeof sys.client.workflow.getHandle>) => Promise<void>,
  ) => {
    const affiliateId = uniqueId('aff');
    rx.script(path, script);
    await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: {
        url: rx.url(path),
        eventTypes: ['customer.*'],
        affiliateId,
        retryPolicy: { schedule: ['1s', '1h'], jitter: 0 },
      },
    });
    const event = registration(uniqueId('player'), { attribution: { affiliateId } });
    const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
    if (res.status !== 202) throw new Error(`event: ${res.status}`);
    const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, event.id));
    await after?.(handle);
    await handle.result();
    const history = await handle.fetchHistory();
    writeFileSync(join(out, `${name}.json`), historyToJSON(history));
    console.log(`recorded ${name}: ${history.events?.length} events, ${rx.requests(path).length} sends`);
  };
  // Attempt 1 fails, its retry a second later succeeds: nothing published.
  await record('registration-level1-quick-retry', '/quick-retry', [{ status: 503 }]);
  // Attempts 1 and 2 fail: published as retrying, then the hour's wait is cut short by a retry-now.
  await record(
    'registration-level1-quick-retry-failed',
    '/quick-retry-failed',
    [{ status: 503 }, { status: 503 }],
    async (handle) => {
      await rx.waitFor('/quick-retry-failed', 2);
      await new Promise((r) => setTimeout(r, 500));
      const [d] = (await handle.query<{ deliveryId: string }[]>('deliveries')) ?? [];
      await handle.signal(retryDeliverySignal, { deliveryId: d!.deliveryId });
    },
  );
} finally {
  await rx.stop();
  await sys.stop();
}
