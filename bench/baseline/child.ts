/**
 * A baseline process, driven by the bench over IPC (one process per shape, so its CPU and memory are its
 * own, as the product's API and worker are):
 *
 * - ceiling: a bare POST loop with the product's payload and signatures; no Temporal, no database.
 * - naive:   a worker for naivePost, and a plain client on its own connection starting it.
 * - best:    a worker for bestPost and a client sharing its NativeConnection, starting eagerly.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { now, percentiles } from '../stats.js';
import { createBaselineActivities, createPoster, type PostTarget } from './activities.js';

export type BaselineMode = 'ceiling' | 'naive' | 'best';

export type ParentMessage =
  | {
      t: 'init';
      mode: BaselineMode;
      temporalAddress: string;
      namespace: string;
      taskQueue: string;
      bundlePath: string;
      target: PostTarget;
    }
  | { t: 'send'; seq: number; id: string }
  | { t: 'loop'; seq: number; concurrency: number; durationMs: number; idPrefix: string }
  | { t: 'stop' };

export type ChildMessage =
  | { t: 'ready' }
  | { t: 'error'; message: string }
  | {
      t: 'sent';
      seq: number;
      ok: boolean;
      sentAt: number;
      acceptedAt: number;
      acceptMs: number;
      error?: string;
    }
  | {
      t: 'looped';
      seq: number;
      count: number;
      errors: number;
      seconds: number;
      latencyMs: ReturnType<typeof percentiles>;
    };

const send = (m: ChildMessage) => process.send?.(m);
let mode: BaselineMode | undefined;
let start: ((id: string) => Promise<unknown>) | undefined;
let poster: ReturnType<typeof createPoster> | undefined;
let stopAll: () => Promise<void> = async () => undefined;

process.on('disconnect', () => void stopAll().finally(() => process.exit(0)));

process.on('message', (m: ParentMessage) => {
  switch (m.t) {
    case 'init':
      init(m).then(
        () => send({ t: 'ready' }),
        (err: Error) => send({ t: 'error', message: err.stack ?? err.message }),
      );
      break;
    case 'send':
      void startOne(m.seq, m.id);
      break;
    case 'loop':
      void loop(m);
      break;
    case 'stop':
      void stopAll().finally(() => process.exit(0));
      break;
  }
});

async function init(m: Extract<ParentMessage, { t: 'init' }>): Promise<void> {
  mode = m.mode;
  poster = createPoster(m.target);
  if (mode === 'ceiling') {
    stopAll = async () => poster?.http.close();
    return;
  }
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  const connection = await NativeConnection.connect({ address: m.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: m.namespace,
    taskQueue: m.taskQueue,
    workflowBundle: { codePath: m.bundlePath },
    activities: createBaselineActivities(m.target),
  });
  const running = worker.run();
  let clientConnection: Connection | undefined;
  let client: Client;
  if (mode === 'best') {
    client = new Client({ connection, namespace: m.namespace });
  } else {
    clientConnection = await Connection.connect({ address: m.temporalAddress });
    client = new Client({ connection: clientConnection, namespace: m.namespace });
  }
  const workflowType = mode === 'best' ? 'bestPost' : 'naivePost';
  const eager = mode === 'best';
  start = (id) =>
    client.workflow.start(workflowType, {
      workflowId: id,
      taskQueue: m.taskQueue,
      args: [{ eventId: id }],
      requestEagerStart: eager,
    });
  stopAll = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await clientConnection?.close();
    await connection.close();
    poster?.http.close();
  };
}

async function startOne(seq: number, id: string): Promise<void> {
  const sentAt = now();
  const t0 = performance.now();
  try {
    if (!start) throw new Error(`mode ${mode} starts no workflows`);
    await start(id);
    send({ t: 'sent', seq, ok: true, sentAt, acceptedAt: now(), acceptMs: performance.now() - t0 });
  } catch (err) {
    send({
      t: 'sent',
      seq,
      ok: false,
      sentAt,
      acceptedAt: now(),
      acceptMs: performance.now() - t0,
      error: (err as Error).message,
    });
  }
}

/** Closed loop: `concurrency` POSTs in flight until the time is up. */
async function loop(m: Extract<ParentMessage, { t: 'loop' }>): Promise<void> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + m.durationMs;
  const lane = async () => {
    while (performance.now() < deadline && n < 10_000_000) {
      const id = `${m.idPrefix}-${++n}`;
      const t0 = performance.now();
      try {
        await poster!.post(id);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, lane));
  send({
    t: 'looped',
    seq: m.seq,
    count: latencies.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latencyMs: percentiles(latencies),
  });
}
