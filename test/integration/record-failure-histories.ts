/**
 * Records replay fixtures of the failure paths behind the `delivery-signal-on-state-change` patch (run by
 * hand when those paths change on purpose; it writes only its own files):
 *   npm test -- test/integration/record-failure-histories.ts
 * Not a test file; test/unit/replay.test.ts replays what it writes. A low history limit makes the run
 * hand its failing deliveries over (continue-as-new): both runs are recorded, the first with its failed
 * server-side attempts (no signal per attempt), the second taking each schedule up from PostgreSQL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver } from '../support/receiver.js';
import { startSystem } from '../support/system.js';

const out = join(import.meta.dirname, '..', 'fixtures', 'histories');
const sys = await startSystem({ eventHistoryLimit: 20 });
const rx = await startReceiver();
try {
  const op = await sys.createOperator();
  const affiliateId = uniqueId('aff');
  const paths = ['/down-a', '/down-b'];
  for (const path of paths) {
    rx.script(
      path,
      Array.from({ length: 6 }, () => ({ status: 500 })),
    );
    await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: {
        url: rx.url(path),
        eventTypes: ['customer.*'],
        affiliateId,
        retryPolicy: { schedule: Array.from({ length: 6 }, () => '500ms'), jitter: 0 },
      },
    });
  }
  const event = registration(uniqueId('player'), { attribution: { affiliateId } });
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  if (res.status !== 202) throw new Error(`event: ${res.status}`);
  const workflowId = eventWorkflowId(op.id, event.id);
  await sys.client.workflow.getHandle(workflowId).result();
  const first = await sys.client.workflow.getHandle(workflowId).describe();
  const firstRunId = first.raw.workflowExecutionInfo?.firstRunId || first.runId;
  const firstRun = await sys.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  const continued = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  if (first.runId === firstRunId) throw new Error('the run did not continue as new: lower the limit');
  for (const [name, history] of [
    ['registration-two-failing-first-run', firstRun],
    ['registration-two-failing-continued-run', continued],
  ] as const) {
    writeFileSync(join(out, `${name}.json`), historyToJSON(history));
    console.log(`recorded ${name}: ${history.events?.length} events`);
  }
  console.log(`sends: ${paths.map((p) => rx.requests(p).length).join(', ')}`);
} finally {
  await rx.stop();
  await sys.stop();
}
