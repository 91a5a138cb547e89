import { statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import pg from 'pg';
import { eventWorkflowId } from '../src/domain/ids.js';
import { eventJson } from './payload.js';
import { quiet, type Ctx } from './phases.js';
import { currentRssMb, type PhaseUse } from './resources.js';
import type { BenchOperator } from './setup.js';
import { round, sleep } from './stats.js';
import { costOf, type CostPerEvent } from './temporal-cost.js';

/**
 * The waiting section: what N deliveries waiting to retry cost when nothing else happens.
 *
 * 1. An idle window (`--idle-seconds`) with nothing in flight: CPU of every process, their memory, the
 *    Temporal SQLite file and the PostgreSQL database size. This is the baseline, measured in the same run.
 * 2. N events of an operator whose one endpoint answers 503 to everything, under a retry policy whose
 *    waits are hours (WAITING_SCHEDULE): with `activity` (default) each delivery ends in a pending
 *    activity's server-side retry timer, with `timer` in a workflow timer (see waitingRateLimit). The events are sent by a closed loop that keeps at most a few hundred events between
 *    "accepted" and "waiting", so the engine goes at its own pace; progress is printed every 10 s. 100k take
 *    roughly half an hour to an hour on 2 cores.
 * 3. A settling pause, then the same idle window again with the N retries waiting. Reported: CPU per process
 *    in both windows and their ratio, memory, and storage.
 *
 * The waiting events are not tracked as deliveries (they are never delivered); the bench's own Temporal
 * server and database go away at the end. On a Temporal server the bench did not start, the section
 * terminates its workflows at the end with one batch operation.
 */
export interface WaitingWindow {
  resources: PhaseUse;
  /** CPU % of one core per role over the window, to 0.01. */
  cpuPercent: Record<string, number>;
  /** Resident set at the end of the window, MB. */
  rssMb: Record<string, number | null>;
  temporalDbBytes: { db: number | null; wal: number | null } | null;
  postgresDbBytes: number | null;
}

export interface WaitingResult {
  skipped: false;
  kind: 'activity' | 'timer';
  retrySchedule: string[];
  requested: number;
  sent: number;
  accepted: number;
  /** Deliveries in the waiting state when the second window began. */
  waiting: number;
  createSeconds: number;
  createdPerSec: number;
  creating: PhaseUse;
  /** CPU ms per waiting delivery created, per role (sending, starting, failing twice, parking). */
  cpuMsPerCreated: Record<string, number>;
  idle: WaitingWindow;
  withWaiting: WaitingWindow;
  /** withWaiting CPU over idle CPU, per role (null where idle was 0). */
  ratioToIdle: Record<string, number | null>;
  /** Temporal history of a sample of the waiting workflows (not completed: their work so far). */
  temporalOfSample: CostPerEvent | null;
  cleanup: string | null;
}

/** Every wait is hours: whatever the kind, the first failed attempt parks the delivery. */
export const WAITING_SCHEDULE = ['6h', '6h'];

/**
 * `activity`: the endpoint declares a send-rate limit (far above what the bench sends), which makes the
 * workflow skip its local first attempt and run every attempt as an ordinary activity; the first one fails
 * and Temporal parks the activity in a server-side retry timer, the state of every retry from the second
 * wait of a delivery on. `timer`: no limit, the local first attempt fails and the workflow sleeps in a timer.
 */
export const waitingRateLimit = (kind: 'activity' | 'timer') => (kind === 'activity' ? 10_000 : undefined);

const ROLES = ['api', 'worker', 'temporal', 'postgres'] as const;

export async function waitingRun(
  ctx: Ctx,
  o: {
    operator: BenchOperator;
    apiUrl: string;
    padding: string;
    databaseUrl: string | null;
    databaseName: string | null;
    monitor: pg.Client | null;
    temporalDbFile: string | null;
    managedTemporal: boolean;
    namespace: string;
  },
): Promise<WaitingResult> {
  const { waiting: n, waitingKind: kind, idleMs } = ctx.opts;
  const label = (s: string) => `waiting: ${s}`;
  ctx.receiver.setDown(o.operator.prefix, true);

  const window = async (name: string): Promise<WaitingWindow> => {
    await quiet(ctx, name);
    ctx.sampler.begin(name);
    await sleep(idleMs);
    if (ctx.signal.aborted) throw new Error(`aborted: ${String(ctx.signal.reason)}`);
    const resources = await ctx.sampler.end(name);
    const cpuPercent: Record<string, number> = {};
    for (const [role, p] of Object.entries(resources.processes))
      cpuPercent[role] = round(p.cpuMs / resources.seconds / 10, 2);
    const rssMb: Record<string, number | null> = {};
    for (const [role, pid] of Object.entries(ctx.sampler.tracked())) rssMb[role] = currentRssMb(pid);
    return {
      resources,
      cpuPercent,
      rssMb,
      temporalDbBytes: o.temporalDbFile
        ? { db: sizeOf(o.temporalDbFile), wal: sizeOf(`${o.temporalDbFile}-wal`) }
        : null,
      postgresDbBytes: await databaseSize(o.monitor, o.databaseName),
    };
  };

  ctx.say(`  idle window (${idleMs / 1000} s) before any retry waits`);
  const idle = await window(label('idle, none waiting'));

  const db = o.databaseUrl
    ? new pg.Client({ connectionString: o.databaseUrl, application_name: 'affiliate-hooks-bench' })
    : null;
  await db?.connect();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const countWaiting = async () => {
      if (!db) return null;
      // Once its endpoint's breaker opens (after BREAKER_FAILURE_THRESHOLD failures in a row), a delivery
      // waits for the breaker instead, in the same kind of server-side retry, without an attempt of its own.
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM deliveries
          WHERE operator_id = $1
            AND ((status = 'retrying' AND attempt_count >= 1) OR breaker_wait_since IS NOT NULL)`,
        [o.operator.id],
      );
      return Number(rows[0]!.n);
    };

    ctx.say(
      `  creating ${n} deliveries waiting in ${kind === 'activity' ? 'activity retry timers' : 'workflow timers'}`,
    );
    await quiet(ctx, 'creating the waiting retries');
    const creatingLabel = label(`creating ${n}`);
    ctx.sampler.begin(creatingLabel);
    const t0 = performance.now();
    let sent = 0;
    let accepted = 0;
    let waitingNow = 0;
    let failures = 0;
    let lastSay = t0;
    /** Events accepted but not yet parked: the engine's backlog, kept bounded so it sets the pace. */
    const maxBacklog = 200;
    const concurrency = 8;
    let sendersDone = false;
    let stalled = false;
    const poller = (async () => {
      let lastProgress = performance.now();
      while (!ctx.signal.aborted) {
        const before = waitingNow;
        waitingNow = (await countWaiting().catch(() => null)) ?? accepted;
        const t = performance.now();
        if (waitingNow !== before) lastProgress = t;
        if (sendersDone && waitingNow >= accepted) break;
        if (t - lastProgress > 120_000) {
          stalled = true;
          ctx.say(`    no delivery started waiting for 2 minutes: measuring the ${waitingNow} that did`);
          break;
        }
        if (t - lastSay >= 10_000) {
          lastSay = t;
          const s = (t - t0) / 1000;
          const rate = waitingNow / s;
          ctx.say(
            `    ${waitingNow}/${n} waiting, ${accepted} accepted after ${Math.round(s)} s (${round(rate, 1)}/s` +
              `${rate > 0 ? `, about ${Math.round((n - waitingNow) / rate / 60)} min to go` : ''})`,
          );
        }
        await sleep(1_000);
      }
    })();
    const sender = async () => {
      while (!ctx.signal.aborted && !stalled && sent < n) {
        if (accepted - waitingNow >= maxBacklog || failures > 100) {
          await sleep(50);
          if (failures > 100) throw new Error(`waiting: ${failures} events were refused`);
          continue;
        }
        const id = `${ctx.runTag}-wait-${++sent}`;
        const status = await post(
          agent,
          `${o.apiUrl}/v1/events`,
          o.operator.apiKey,
          eventJson(id, o.padding),
        );
        if (status === 202 || status === 200) accepted++;
        else failures++;
      }
    };
    await Promise.all([
      Promise.all(Array.from({ length: concurrency }, sender)).finally(() => (sendersDone = true)),
      poller,
    ]);
    if (ctx.signal.aborted) throw new Error(`aborted: ${String(ctx.signal.reason)}`);
    // Without a database to count in, wait for what was accepted to settle as well as we can.
    if (!db) await sleep(10_000);
    const createSeconds = (performance.now() - t0) / 1000;
    const creating = await ctx.sampler.end(creatingLabel);
    ctx.say(
      `  ${waitingNow} waiting after ${Math.round(createSeconds)} s; settling before the second window`,
    );
    // Let visibility writes, signals and the sticky caches settle.
    await sleep(Math.min(30_000, Math.max(5_000, idleMs / 4)));
    const waiting = (await countWaiting()) ?? accepted;
    const withWaiting = await window(label(`idle, ${waiting} waiting`));

    const ratioToIdle: Record<string, number | null> = {};
    for (const role of [...ROLES, 'bench', 'other']) {
      const a = withWaiting.cpuPercent[role];
      const b = idle.cpuPercent[role];
      ratioToIdle[role] = a === undefined || b === undefined || b === 0 ? null : round(a / b, 2);
    }
    const cpuMsPerCreated: Record<string, number> = {};
    for (const [role, p] of Object.entries(creating.processes))
      cpuMsPerCreated[role] = round(p.cpuMs / Math.max(1, waitingNow), 2);
    const sample = Array.from({ length: Math.min(20, sent) }, (_, i) =>
      eventWorkflowId(o.operator.id, `${ctx.runTag}-wait-${i + 1}`),
    );
    const temporalOfSample = sample.length ? await costOf(ctx.client, sample, 0).catch(() => null) : null;

    let cleanup: string | null = null;
    if (!o.managedTemporal) cleanup = await terminateAll(ctx, o.namespace, o.operator.id);

    const result: WaitingResult = {
      skipped: false,
      kind,
      retrySchedule: WAITING_SCHEDULE,
      requested: n,
      sent,
      accepted,
      waiting,
      createSeconds: round(createSeconds, 1),
      createdPerSec: round(waitingNow / createSeconds, 1),
      creating,
      cpuMsPerCreated,
      idle,
      withWaiting,
      ratioToIdle,
      temporalOfSample,
      cleanup,
    };
    ctx.say(
      `  CPU % of a core, idle -> ${waiting} waiting: ` +
        ROLES.map((r) => `${r} ${idle.cpuPercent[r] ?? 'n/a'} -> ${withWaiting.cpuPercent[r] ?? 'n/a'}`).join(
          ', ',
        ),
    );
    return result;
  } finally {
    agent.destroy();
    await db?.end().catch(() => undefined);
  }
}

function post(agent: Agent, url: string, apiKey: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

async function databaseSize(monitor: pg.Client | null, name: string | null): Promise<number | null> {
  if (!monitor || !name) return null;
  try {
    const { rows } = await monitor.query<{ n: string }>('SELECT pg_database_size($1)::text AS n', [name]);
    return rows[0] ? Number(rows[0].n) : null;
  } catch {
    return null;
  }
}

/** On a Temporal server the bench did not start, its waiting workflows must not stay behind. */
async function terminateAll(ctx: Ctx, namespace: string, operatorId: string): Promise<string> {
  try {
    await ctx.client.workflowService.startBatchOperation({
      namespace,
      jobId: `bench-waiting-${ctx.runTag}`,
      visibilityQuery: `OperatorId = '${operatorId}' AND ExecutionStatus = 'Running'`,
      reason: 'bench: waiting section done',
      terminationOperation: {},
    });
    return `batch termination of the operator's running workflows started (job bench-waiting-${ctx.runTag})`;
  } catch (err) {
    return `could not start the batch termination: ${(err as Error).message}`;
  }
}
