/**
 * `npm run bench [-- options]`: starts the whole system (or uses a running one), local receivers, the
 * baselines and a load generator; measures throughput, latency, drain, CPU and memory, and the Temporal
 * and PostgreSQL cost per event; writes bench/results/<timestamp>.json and .md and prints the Markdown.
 * `npm run bench -- --help` lists the options. Every process and the throwaway database are removed at
 * the end, on failure and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { randomBase62 } from '../src/db/new-id.js';
import { generateWebhookSecret } from '../src/delivery/secrets.js';
import { bundleBaselineWorkflows, startBaseline, type Baseline } from './baselines.js';
import { Cleanup } from './cleanup.js';
import { baselineCost, productCost, type CostResult } from './cost.js';
import { productShape, type Shape } from './load.js';
import { neighboursRun } from './neighbours.js';
import { parseOptions, type BenchOptions, type Section } from './options.js';
import { eventJson, paddingFor, webhookJson } from './payload.js';
import {
  ceilingRun,
  drainRetrySchedule,
  drainRun,
  latencyRuns,
  quiet,
  saturation,
  steadyRun,
  type Ctx,
  type DrainStuck,
  type RunResult,
  type SaturationResult,
} from './phases.js';
import { startBenchReceiver } from './receiver.js';
import {
  computeRatios,
  computeTargets,
  renderMarkdown,
  type BenchResult,
  type IntegrityShape,
  type Shapes,
} from './report.js';
import { ResourceSampler } from './resources.js';
import { createBenchOperator, putBenchDeal } from './setup.js';
import { startSystem, tail, type RunningSystem } from './system.js';
import { costOf } from './temporal-cost.js';
import { isAccepted, Tracker, type ShapeName } from './tracker.js';
import { WAITING_SCHEDULE, waitingRateLimit, waitingRun } from './waiting.js';
import { eventWorkflowId } from '../src/domain/ids.js';

const root = join(import.meta.dirname, '..');
const say = (line: string) => console.log(`bench: ${line}`);

const opts = parseOptions(process.argv.slice(2));
const cleanup = new Cleanup(say);
const fatal = new AbortController();
let exitCode = 0;
/** Set once the bench itself stops the system, so its processes exiting is no failure. */
let stopping = false;

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (fatal.signal.aborted || stopping) return;
    stopping = true;
    say(`${signal}: stopping everything`);
    fatal.abort(signal);
    void cleanup.run().finally(() => process.exit(code));
  });
}

try {
  await main(opts);
} catch (err) {
  exitCode = 1;
  console.error(`bench: failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  stopping = true;
  await cleanup.run();
}
process.exit(exitCode);

async function main(o: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const runTag = `b${randomBase62(6)}`;
  const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-bench-'));
  cleanup.add('temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  say(`${o.mode} run ${runTag}; temp dir ${tmp}`);
  const needsBundle = !o.skip.has('best') || !o.skip.has('naive');
  // Bundling takes seconds: overlap it with the system's start.
  const baselineBundle = needsBundle ? bundleBaselineWorkflows() : Promise.resolve('');
  baselineBundle.catch(() => undefined);

  const sys = await startSystem(
    {
      tmpDir: tmp,
      temporalAddress: o.temporalAddress,
      databaseUrl: o.databaseUrl,
      apiUrl: o.apiUrl,
      adminToken: o.adminToken,
      pids: o.pids,
      apiProcesses: o.apiProcesses,
      extraEnv: o.systemEnv,
      profileDir: o.profile
        ? join(outDirOf(o), `${startedAt.toISOString().replace(/[:.]/g, '-')}-profiles`)
        : undefined,
      say,
    },
    cleanup,
  );
  cleanup.add('report system logs on failure', () => {
    if (exitCode !== 0)
      for (const [name, file] of Object.entries(sys.logs)) {
        const lines = tail(file);
        if (lines) console.error(`--- last lines of ${name} log ---\n${lines}`);
      }
  });
  for (const [role, child] of Object.entries(sys.counted)) {
    child.once('exit', (code, signal) => {
      if (!stopping && !fatal.signal.aborted) fatal.abort(`${role} exited (${code ?? signal})`);
    });
  }

  const connection = await Connection.connect({ address: sys.temporalAddress });
  cleanup.add('temporal client', () => connection.close());
  const client = new Client({ connection, namespace: sys.namespace });
  let monitor: pg.Client | null = null;
  if (sys.databaseUrl) {
    const url = new URL(sys.databaseUrl);
    url.pathname = '/postgres';
    monitor = new pg.Client({ connectionString: url.toString(), application_name: 'affiliate-hooks-bench' });
    await monitor.connect();
    cleanup.add('monitor connection', () => monitor!.end());
  }

  const tracker = new Tracker();
  const receiver = await startBenchReceiver(tracker);
  cleanup.add('receivers', () => receiver.stop());
  const sampler = new ResourceSampler(monitor, sys.databaseName);
  for (const [role, pid] of Object.entries(sys.pids)) sampler.track(role, pid);
  sampler.track('bench', process.pid);
  sampler.start();
  cleanup.add('sampler', () => sampler.stop());

  const padding = paddingFor(o.payloadBytes);
  const schedule = drainRetrySchedule(o.drainDownS);
  const operator = (name: string, endpoints: number) =>
    createBenchOperator({
      apiUrl: sys.apiUrl,
      adminToken: sys.adminToken,
      receiver,
      name: `${runTag}-${name}`,
      endpoints,
      retrySchedule: schedule,
    });
  const product = (apiKey: string, expected: number) => {
    const shape = productShape({
      tracker,
      apiUrl: sys.apiUrl,
      apiKey,
      expected,
      maxSockets: o.maxInFlight,
      body: (id) => eventJson(id, padding),
    });
    cleanup.add('product load agent', () => shape.close());
    return shape;
  };
  const tp = await operator('tp', o.endpoints);
  const productTp = product(tp.apiKey, o.endpoints);

  const ctx: Ctx = {
    opts: o,
    tracker,
    sampler,
    receiver,
    client,
    runTag,
    signal: fatal.signal,
    say,
    ...(Object.keys(sys.counted).length ? { pgCounted: sys.counted } : {}),
  };
  const run = (s: Section) => !o.skip.has(s);

  // Baselines: each in its own process, on its own task queue, posting to its own receiver path.
  const baselines: Partial<Record<'ceiling' | 'best' | 'naive', Baseline>> = {};
  const wanted = (['ceiling', 'best', 'naive'] as const).filter(run);
  if (wanted.length) {
    const bundlePath = join(tmp, 'baseline-bundle.js');
    if (needsBundle) writeFileSync(bundlePath, await baselineBundle);
    await Promise.all(
      wanted.map(async (mode) => {
        const secret = generateWebhookSecret();
        receiver.setSecret(`/${mode}`, secret);
        const b = await startBaseline({
          mode,
          tracker,
          temporalAddress: sys.temporalAddress,
          namespace: sys.namespace,
          taskQueue: `bench-${mode}-${runTag}`,
          bundlePath,
          target: { url: receiver.url(`/${mode}`), secret, padding },
        });
        cleanup.add(`baseline ${mode}`, () => b.stop());
        baselines[mode] = b;
      }),
    );
  }
  say(`system ready in ${Math.round(performance.now() - t0)} ms`);

  const result: Omit<BenchResult, 'ratios' | 'targets'> = {
    schema: 'affiliate-hooks-bench/1',
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    seconds: 0,
    mode: o.mode,
    options: {
      endpoints: o.endpoints,
      payloadBytes: o.payloadBytes,
      rate: o.rate,
      durationS: o.durationS,
      drainDownS: o.drainDownS,
      skip: [...o.skip],
      maxInFlight: o.maxInFlight,
      ramp: o.ramp,
      fractions: o.fractions,
      latencyMs: o.latencyMs,
      costEvents: o.costEvents,
      costXactCheck: o.costXactCheck,
      waiting: o.waiting,
      waitingKind: o.waitingKind,
      idleSeconds: o.idleMs / 1000,
      order: o.order,
      systemEnv: o.systemEnv,
      neighboursRate: o.neighboursRate,
      neighboursSeconds: o.neighboursMs / 1000,
      neighboursBacklog: o.neighboursBacklog,
      neighboursFailingRate: o.neighboursFailingRate,
      neighboursWarmSeconds: o.neighboursWarmMs / 1000,
    },
    machine: machineInfo(sys, await pgVersion(monitor), webhookJson(`${runTag}-x-1`, padding).length),
    system: {
      managed: sys.managed,
      temporalAddress: sys.temporalAddress,
      apiUrl: sys.apiUrl,
      database: sys.databaseName,
      apiEmbeddedWorker: sys.managed.api ? true : 'unknown',
      apiProcesses: sys.managed.api ? o.apiProcesses : 'unknown',
    },
    ceiling: { skipped: true, reason: 'skipped by --skip' },
    saturation: {},
    latency: {},
    accept: [],
    fixedRate: { skipped: true, reason: 'no --rate given' },
    drain: { skipped: true, reason: o.mode === 'smoke' ? 'smoke mode' : 'skipped by --skip' },
    cost: { skipped: true, reason: 'skipped by --skip' },
    waiting: {
      skipped: true,
      reason: o.skip.has('waiting') ? 'skipped by --skip' : o.waiting === 0 ? 'no --waiting' : 'smoke mode',
    },
    neighbours: { skipped: true, reason: 'skipped by --skip' },
    resources: { phases: sampler.phases, peakRssMb: sampler.runPeakRssMb },
    integrity: {
      shapes: {},
      duplicateWebhookIds: 0,
      duplicateDeliveries: 0,
      badSignatures: 0,
      ceiling: null,
    },
  };

  if (baselines.ceiling) {
    say('ceiling: bare signed POSTs to the receiver, no durability');
    sampler.track('baseline', baselines.ceiling.child.pid);
    await quiet(ctx, 'the ceiling');
    const c = await ceilingRun(ctx, baselines.ceiling);
    sampler.untrack('baseline');
    result.ceiling = c;
    result.integrity.ceiling = { sentOk: c.sentOk, receivedOk: c.receivedOk };
  }

  const shapes: { name: 'best' | 'naive' | 'product'; shape: Shape; baselinePid?: number | undefined }[] = [];
  for (const name of o.order) {
    if (name === 'product') {
      if (run('product')) shapes.push({ name, shape: productTp });
    } else {
      const b = baselines[name];
      if (b) shapes.push({ name, shape: b, baselinePid: b.child.pid });
    }
  }

  const saturationRates: Shapes<number> = {};
  for (const { name, shape, baselinePid } of shapes) {
    say(`${name}: saturation search, then latency at ${o.fractions.map((x) => `${x * 100}%`).join(', ')}`);
    if (baselinePid) sampler.track('baseline', baselinePid);
    const sat: SaturationResult = await saturation(ctx, shape);
    result.saturation[name] = sat;
    saturationRates[name] = sat.deliveredPerSec;
    result.latency[name] = await latencyRuns(ctx, shape, sat.deliveredPerSec);
    if (baselinePid) sampler.untrack('baseline');
    if (name === 'product') {
      // Temporal work per event at each load, from a sample of each run's histories (cost growth).
      for (const r of result.latency.product ?? []) {
        const ids = tracker
          .ofPhase(`product-${r.label}`)
          .filter((e) => e.deliveredAt !== null)
          .slice(0, Math.min(20, o.costEvents))
          .map((e) => eventWorkflowId(tp.id, e.id));
        r.temporal = ids.length ? await costOf(client, ids, 30_000) : null;
      }
    }
  }
  for (const s of ['best', 'naive', 'product'] as const)
    if (!shapes.some((x) => x.name === s))
      result.saturation[s] = { skipped: true, reason: 'skipped by --skip' };
  result.accept = (result.latency.product ?? []).map((r: RunResult) => ({
    label: r.label.replace('pct', '% of saturation'),
    rate: r.rate,
    acceptedPerSec: r.acceptedPerSec,
    acceptMs: r.acceptMs,
    errors: r.errors,
  }));
  const productSat = result.saturation.product;
  if (productSat && !('skipped' in productSat)) {
    if (productSat.acceptMs)
      result.accept.push({
        label: 'at saturation (highest rate kept up)',
        rate: productSat.maxSustainedOfferedRate ?? 0,
        acceptedPerSec: productSat.acceptedPerSec,
        acceptMs: productSat.acceptMs,
        errors: productSat.sustainErrors,
      });
    if (productSat.overload)
      result.accept.push({
        label: 'past saturation (backlog growing)',
        rate: productSat.overload.rate,
        acceptedPerSec: productSat.overload.acceptedPerSec,
        acceptMs: productSat.overload.acceptMs,
        errors: productSat.steps.find((st) => st.rate === productSat.overload!.rate)?.errors ?? 0,
      });
  }

  if (o.rate !== null) {
    const fixed: Shapes<RunResult> = {};
    for (const { name, shape, baselinePid } of shapes) {
      say(`${name}: fixed rate ${o.rate}/s for ${o.durationS} s`);
      if (baselinePid) sampler.track('baseline', baselinePid);
      fixed[name] = await steadyRun(ctx, shape, 'fixed', o.rate, o.durationS * 1000, null);
      if (baselinePid) sampler.untrack('baseline');
    }
    result.fixedRate = fixed;
  }

  if (run('drain') && o.mode !== 'smoke') {
    const sat = saturationRates.product ?? 20;
    say(`drain: receiver down ${o.drainDownS} s at half the product's saturation rate`);
    result.drain = await drainRun(ctx, productTp, tp.prefix, sat, tp.id, () =>
      operationalEventCounts(sys.databaseUrl, tp.id),
    );
    result.drain.watchWakes = watchWakesLogged(
      Object.entries(sys.logs).filter(([n]) => n.startsWith('worker')),
    );
    if (result.drain.undeliveredAfterMax > 0) {
      // Rare, and gone with the run's database and temporary folder: keep what shows what held them.
      // Never at the cost of the run: a copy that fails leaves the logs out.
      let logsDir: string | null = join(outDirOf(o), `${startedAt.toISOString().replace(/[:.]/g, '-')}-logs`);
      try {
        mkdirSync(logsDir, { recursive: true });
        for (const [name, file] of Object.entries(sys.logs))
          if (existsSync(file)) copyFileSync(file, join(logsDir, `${name}.log`));
      } catch (err) {
        say(`  could not keep the logs: ${(err as Error).message}`);
        logsDir = null;
      }
      result.drain.stuck = await stuckDrainState(sys.databaseUrl, tp.id, logsDir).catch(() => null);
    }
  }

  if (run('cost')) {
    say('cost per event: Temporal histories and PostgreSQL round trips, 1 and 5 endpoints');
    const costs: CostResult[] = [];
    for (const k of [1, 5]) {
      const op = await operator(`c${k}`, k);
      await quiet(ctx, `the cost phase with ${k} endpoint(s)`);
      costs.push(
        await productCost(
          ctx,
          product(op.apiKey, k),
          op.id,
          sys.counted,
          monitor,
          sys.databaseName,
          o.costEvents,
        ),
      );
    }
    // What the commission engine adds: the same events, their affiliate with a CPA deal, so each one also
    // wakes its customer's workflow (a registration: settled, nothing accrued).
    {
      const op = await operator('cd1', 1);
      await putBenchDeal(sys.apiUrl, op.apiKey);
      await quiet(ctx, 'the cost phase with a deal');
      costs.push(
        await productCost(
          ctx,
          product(op.apiKey, 1),
          op.id,
          sys.counted,
          monitor,
          sys.databaseName,
          o.costEvents,
          { deal: true },
        ),
      );
    }
    // What a failed first attempt adds: every delivery's first attempt refused (503), its retry accepted.
    {
      const op = await operator('cf1', 1);
      receiver.setFailing(op.prefix, 'first');
      await quiet(ctx, 'the cost phase with failed first attempts');
      costs.push(
        await productCost(
          ctx,
          product(op.apiKey, 1),
          op.id,
          sys.counted,
          monitor,
          sys.databaseName,
          o.costEvents,
          { failedFirst: true },
        ),
      );
      receiver.setFailing(op.prefix, null);
    }
    const sample = Math.min(20, o.costEvents);
    result.cost = {
      product: costs,
      best: result.latency.best?.[0] ? await baselineCost(ctx, 'best-25pct', sample) : null,
      naive: result.latency.naive?.[0] ? await baselineCost(ctx, 'naive-25pct', sample) : null,
    };
  }

  if (run('neighbours')) {
    say(
      `neighbours: tenant A at ${o.neighboursRate}/s alone, then beside a 1/s endpoint holding ${o.neighboursBacklog} ` +
        `events and endpoints failing every attempt (${o.neighboursMs / 1000} s each)`,
    );
    result.neighbours = await neighboursRun(ctx, {
      apiUrl: sys.apiUrl,
      adminToken: sys.adminToken,
      padding,
      databaseUrl: sys.databaseUrl,
    });
  }

  if (run('waiting') && o.mode !== 'smoke' && o.waiting > 0) {
    say(
      `waiting: ${o.waiting} deliveries waiting to retry (${o.waitingKind}), idle windows of ${o.idleMs / 1000} s before and after`,
    );
    const waitOp = await createBenchOperator({
      apiUrl: sys.apiUrl,
      adminToken: sys.adminToken,
      receiver,
      name: `${runTag}-wait`,
      endpoints: 1,
      retrySchedule: WAITING_SCHEDULE,
      rateLimitPerSecond: waitingRateLimit(o.waitingKind),
    });
    result.waiting = await waitingRun(ctx, {
      operator: waitOp,
      apiUrl: sys.apiUrl,
      padding,
      databaseUrl: sys.databaseUrl,
      databaseName: sys.databaseName,
      monitor,
      temporalDbFile: sys.temporalDbFile,
      managedTemporal: sys.managed.temporal,
      namespace: sys.namespace,
    });
  }

  // Worker identities are `<pid>@<host>`: name them by role.
  if (!('skipped' in result.cost)) {
    const roleOf = new Map<string, string>(
      Object.entries(sys.pids).map(([role, pid]) => [String(pid), role]),
    );
    for (const [mode, b] of Object.entries(baselines))
      if (b?.child.pid) roleOf.set(String(b.child.pid), mode);
    const rename = (c: { ranOn: Record<string, unknown> } | null | undefined) => {
      if (!c) return;
      c.ranOn = Object.fromEntries(
        Object.entries(c.ranOn).map(([who, v]) => [roleOf.get(who.split('@')[0]!) ?? who, v]),
      );
    };
    for (const c of result.cost.product) rename(c.temporal);
    rename(result.cost.best);
    rename(result.cost.naive);
  }
  result.integrity = { ...result.integrity, ...integrity(tracker, receiver.counts().badSignatures) };
  result.finishedAt = new Date().toISOString();
  result.seconds = Math.round((performance.now() - t0) / 1000);
  const withRatios = { ...result, ratios: computeRatios(result) };
  const full: BenchResult = { ...withRatios, targets: computeTargets(withRatios) };

  const outDir = outDirOf(o);
  mkdirSync(outDir, { recursive: true });
  const stamp = full.startedAt.replace(/[:.]/g, '-');
  const markdown = renderMarkdown(full);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), `${markdown}\n`);
  console.log(`\n${markdown}`);
  const shown = relative(process.cwd(), outDir) || '.';
  say(`wrote ${join(shown, `${stamp}.json`)} and ${join(shown, `${stamp}.md`)}`);
  console.log(`BENCH_RESULT_JSON=${join(outDir, `${stamp}.json`)}`);
}

function integrity(tracker: Tracker, badSignatures: number) {
  const shapes: Shapes<IntegrityShape> = {};
  for (const ev of tracker.events.values()) {
    if (ev.shape === 'ceiling') continue;
    const s = (shapes[ev.shape as Exclude<ShapeName, 'ceiling'>] ??= {
      sent: 0,
      accepted: 0,
      rejected: 0,
      delivered: 0,
      missing: 0,
      deliveredWithoutAccept: 0,
    });
    s.sent++;
    const accepted = ev.acceptStatus !== null && isAccepted(ev.acceptStatus);
    if (accepted) s.accepted++;
    else s.rejected++;
    if (ev.deliveredAt !== null) s.delivered++;
    if (accepted && ev.deliveredAt === null) s.missing++;
    if (!accepted && ev.deliveredAt !== null) s.deliveredWithoutAccept++;
  }
  return {
    shapes,
    duplicateWebhookIds: tracker.duplicates,
    duplicateDeliveries: tracker.duplicateDeliveries,
    badSignatures,
  };
}

function machineInfo(sys: RunningSystem, postgres: string | null, webhookBytes: number) {
  let temporalCli: string | null = null;
  if (sys.temporalCli) {
    try {
      temporalCli = execFileSync(sys.temporalCli, ['--version'], { encoding: 'utf8' })
        .trim()
        .replace(/^temporal version /, '');
    } catch {
      temporalCli = null;
    }
  }
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.versions.node,
    temporalCli,
    postgres,
    webhookBytes,
  };
}

async function pgVersion(monitor: pg.Client | null): Promise<string | null> {
  if (!monitor) return null;
  const { rows } = await monitor.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version ?? null;
}

/** Events the product emitted itself for an operator (ids `sys~...`), by type. */
async function operationalEventCounts(databaseUrl: string | null, operatorId: string) {
  if (!databaseUrl) return null;
  const db = new pg.Client({ connectionString: databaseUrl, application_name: 'affiliate-hooks-bench' });
  await db.connect();
  try {
    const { rows } = await db.query<{ type: string; n: string }>(
      `SELECT type, count(*)::text AS n FROM events
        WHERE operator_id = $1 AND event_id LIKE 'sys~%' GROUP BY type ORDER BY type`,
      [operatorId],
    );
    return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
  } finally {
    await db.end();
  }
}

/** The breaker watch's rescues (src/ingest/breaker-watch.ts) so far, counted in the workers' logs. */
function watchWakesLogged(logs: Array<[string, string]>): { sweeps: number; probers: number } | null {
  let sweeps = 0;
  let probers = 0;
  try {
    for (const [, file] of logs) {
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.includes('swept again')) sweeps++;
        else if (line.includes('its prober woken')) probers++;
      }
    }
  } catch {
    return null;
  }
  return { sweeps, probers };
}

async function stuckDrainState(
  databaseUrl: string | null,
  operatorId: string,
  logsDir: string | null,
): Promise<DrainStuck | null> {
  if (!databaseUrl) return null;
  const db = new pg.Client({ connectionString: databaseUrl, application_name: 'affiliate-hooks-bench' });
  await db.connect();
  try {
    const endpoints = await db.query<DrainStuck['endpoints'][number]>(
      `SELECT id, breaker_opened_at::text AS "breakerOpenedAt", breaker_probe_at::text AS "breakerProbeAt",
              breaker_prober AS "breakerProber", breaker_probe_started_at::text AS "breakerProbeStartedAt",
              breaker_swept_at::text AS "breakerSweptAt", consecutive_failures AS "consecutiveFailures"
         FROM endpoints WHERE operator_id = $1 ORDER BY created_at`,
      [operatorId],
    );
    const unfinished = await db.query<{ status: string; breakerWaiting: boolean; count: number }>(
      `SELECT status, breaker_wait_since IS NOT NULL AS "breakerWaiting", count(*)::int AS count
         FROM deliveries WHERE operator_id = $1 AND status IN ('pending', 'retrying')
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [operatorId],
    );
    return { endpoints: endpoints.rows, unfinished: unfinished.rows, logsDir };
  } finally {
    await db.end();
  }
}

function outDirOf(o: BenchOptions): string {
  return isAbsolute(o.outDir) ? o.outDir : join(root, o.outDir);
}
