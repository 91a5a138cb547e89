/**
 * Records the histories of an endpoint's replay as replay fixtures (run by hand when these workflows change
 * on purpose):
 *   npm test -- test/integration/record-replay-histories.ts
 * Not a test file; test/unit/replay.test.ts replays what it writes:
 * - replay-endpoint-continued.json: a replayEndpoint run of two pages that continues as new;
 * - registration-replayed-while-running.json: a processEvent run that takes a replay's new delivery (a
 *   replayDeliveries signal) while another delivery waits to be retried, and later the same delivery again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decodeFeedCursor } from '../../src/api/cursor.js';
import { findEndpoint } from '../../src/db/endpoints.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { startReplay } from '../../src/ingest/replay.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver } from '../support/receiver.js';
import { startSystem } from '../support/system.js';

const out = join(import.meta.dirname, '..', 'fixtures', 'histories');
const sys = await startSystem();
const rx = await startReceiver();
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  const op = await sys.createOperator();
  const api = (method: string, path: string, json?: unknown) =>
    sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
  const affiliateId = uniqueId('aff');
  rx.script('/slow', [{ status: 503 }]);
  await api('POST', '/v1/endpoints', {
    url: rx.url('/slow'),
    eventTypes: ['customer.registered'],
    affiliateId,
    retryPolicy: { schedule: ['6s'], jitter: 0 },
  });
  const start = (await api('GET', '/v1/feed?limit=500')).body.nextCursor as string;
  const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
  await api('POST', '/v1/events', reg);
  await rx.waitFor('/slow', 1);
  const late = (
    await api('POST', '/v1/endpoints', {
      url: rx.url('/late'),
      eventTypes: ['customer.registered'],
      affiliateId,
    })
  ).body as { id: string };
  const replayOf = async (opts: { pageSize?: number; pagesPerRun?: number } = {}) =>
    startReplay(
      { pool: sys.pool, client: async () => sys.client, taskQueue: sys.taskQueue, ...opts },
      op.id,
      (await findEndpoint(sys.pool, op.id, late.id))!,
      { after: decodeFeedCursor(start, ['after']), until: null, missingOnly: false },
    );
  await replayOf();
  await rx.waitFor('/late', 1);
  await wait(500);
  await replayOf();
  await rx.waitFor('/late', 2);
  const event = sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id));
  await event.result();
  writeFileSync(
    join(out, 'registration-replayed-while-running.json'),
    historyToJSON(await event.fetchHistory()),
  );

  // Three more registrations, replayed two a page, one page a run: the first run continues as new.
  for (let i = 0; i < 3; i++) {
    await api('POST', '/v1/events', registration(uniqueId('player'), { attribution: { affiliateId } }));
  }
  await rx.waitFor('/late', 5);
  await wait(500);
  const paged = await replayOf({ pageSize: 2, pagesPerRun: 1 });
  const first = await sys.client.workflow.getHandle(paged.workflowId).describe();
  await sys.client.workflow.getHandle(paged.workflowId).result();
  const firstRun = sys.client.workflow.getHandle(paged.workflowId, first.runId);
  writeFileSync(join(out, 'replay-endpoint-continued.json'), historyToJSON(await firstRun.fetchHistory()));
  console.log('recorded registration-replayed-while-running, replay-endpoint-continued');
} finally {
  await sys.stop();
  await rx.stop();
}
