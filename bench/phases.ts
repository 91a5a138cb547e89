import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import type { Baseline } from './baselines.js';
import { runLoad, type LoadResult, type Shape } from './load.js';
import type { BenchOptions } from './options.js';
import { perEvent, pgSnapshot, type PgPerEvent } from './pg-counts.js';
import type { BenchReceiver } from './receiver.js';
import type { PhaseUse, ResourceSampler } from './resources.js';
import { now, percentiles, quantileInterval, round, sleep, waitUntil, type Percentiles } from './stats.js';
import { costOf, type CostPerEvent } from './temporal-cost.js';
import { isAccepted, type ShapeName, type TrackedEvent, type Tracker } from './tracker.js';
import { eventWorkflowId } from '../src/domain/ids.js';

/**
 * The measuring phases, the same for the product and the baselines: the saturation search, runs at a
 * fraction of the saturation rate (latency), a fixed-rate run, the closed POST loop of the ceiling, and the
 * backlog drain of the product.
 */
export interface Ctx {
  opts: BenchOptions;
  tracker: Tracker;
  sampler: ResourceSampler;
  receiver: BenchReceiver;
  client: Client;
  runTag: string;
  signal: AbortSignal;
  say: (line: string) => void;
  /** Processes carrying the round-trip counter: the product's runs then count round trips per event. */
  pgCounted?: Record<string, ChildProcess>;
}

export interface RampStep {
  rate: number;
  offeredPerSec: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  backlogGrowth: number;
  skipped: number;
  errors: number;
  saturated: boolean;
}

export interface SaturationResult {
  shape: ShapeName;
  steps: RampStep[];
  /** False when the highest step still kept up: the figures are then lower bounds. */
  saturated: boolean;
  /** The highest offered rate whose step kept the backlog flat (after refinement between the last step
   * that kept up and the first that did not). */
  maxSustainedOfferedRate: number | null;
  /** The lowest offered rate seen to make the backlog grow. */
  minSaturatingRate: number | null;
  /** Delivered events/s in the sustain run at maxSustainedOfferedRate: the saturation throughput. */
  deliveredPerSec: number;
  acceptedPerSec: number;
  /** The sustain run kept its backlog flat as well (false: the figure is slightly above capacity). */
  sustainKeptUp: boolean | null;
  /** Accept latency and failed accepts of the sustain run. */
  acceptMs: Percentiles | null;
  sustainErrors: number;
  /** The first step that did not keep up: what happens past saturation. */
  overload: { rate: number; acceptedPerSec: number; deliveredPerSec: number; acceptMs: Percentiles } | null;
  /** How long the backlog left by the overload step took to be delivered. */
  backlogDrainedMs: number | null;
  resources: PhaseUse | null;
  cpuMsPerEvent: Record<string, number> | null;
}

export interface RunResult {
  shape: ShapeName;
  label: string;
  fraction: number | null;
  rate: number;
  seconds: number;
  offered: number;
  accepted: number;
  delivered: number;
  errors: number;
  skipped: number;
  undelivered: number;
  offeredPerSec: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  acceptMs: Percentiles;
  /** The accept p99's 90 % bootstrap interval (stats.ts, quantileInterval); absent in results before it. */
  acceptP99Interval?: { low: number; high: number } | null;
  /** From the moment the event was sent to the moment its last delivery reached the receiver. */
  endToEndMs: Percentiles;
  resources: PhaseUse;
  cpuMsPerEvent: Record<string, number>;
  /** Product runs with the counter loaded: PostgreSQL round trips per event in this run. */
  postgres?: PgPerEvent | null;
  /** Product latency runs: Temporal work per event from a sample of this run's histories. */
  temporal?: CostPerEvent | null;
}

export interface CeilingResult {
  concurrency: number;
  postsPerSec: number;
  latencyMs: Percentiles;
  unloadedLatencyMs: Percentiles;
  errors: number;
  /** 200 answers the receiver counted for the loop, against the loop's own count. */
  receivedOk: number;
  sentOk: number;
  resources: PhaseUse;
}

export interface DrainResult {
  skipped: false;
  rate: number;
  downSeconds: number;
  retrySchedule: string[];
  backlogAtRecovery: number;
  /** From the receiver coming back until every event accepted before that was delivered. */
  drainMs: number | null;
  /** Backlog over drain time. */
  catchUpPerSec: number | null;
  /** From the receiver coming back until the backlog was back to its level before the outage. */
  backToSteadyMs: number | null;
  undeliveredAfterMax: number;
  unavailableAnswers: number;
  duplicates: number;
  resourcesDown: PhaseUse;
  resourcesRecovery: PhaseUse;
  /** Temporal work of a sample of the events that waited out the outage (retries, signals, upserts). */
  temporalOfDelayed: CostPerEvent | null;
  /** Operational events the product emitted during the phase (delivery.failing, delivery.recovered...). */
  operationalEvents: Record<string, number> | null;
  /** Read when events were left undelivered (bench/run.ts): what held them, for whoever reads the run. */
  stuck?: DrainStuck | null;
  /**
   * Wake-ups the workers' breaker watch sent again by the end of the phase, from their logs (bench/run.ts):
   * a closed breaker swept anew, an overdue probe's prober woken. Above zero, a wake-up went missing.
   */
  watchWakes?: { sweeps: number; probers: number } | null;
}

/** The drain operator's endpoints' breakers and unfinished deliveries, read right after a phase that left some. */
export interface DrainStuck {
  endpoints: {
    id: string;
    breakerOpenedAt: string | null;
    breakerProbeAt: string | null;
    breakerProber: string | null;
    breakerProbeStartedAt: string | null;
    breakerSweptAt: string | null;
    consecutiveFailures: number;
  }[];
  /** Unfinished deliveries by status, and whether each waits for the breaker. */
  unfinished: { status: string; breakerWaiting: boolean; count: number }[];
  /** Where the API's and worker's logs were copied (the bench's temporary folder goes with the run). */
  logsDir: string | null;
}

/** Lets the machine go quiet (bounded) before a measured phase; says so when it had to wait. */
export async function quiet(ctx: Ctx, before: string): Promise<void> {
  if (ctx.opts.mode === 'smoke') return;
  const { waitedMs, quiet: ok } = await ctx.sampler.waitForQuiet(60_000);
  if (waitedMs > 0)
    ctx.say(
      `  (waited ${Math.round(waitedMs / 1000)} s for other processes to go quiet before ${before}${ok ? '' : '; still busy'})`,
    );
  checkAbort(ctx.signal);
}

function checkAbort(signal: AbortSignal) {
  if (signal.aborted) throw new Error(`aborted: ${String(signal.reason)}`);
}

/** Waits (bounded) until every accepted event of the phases is delivered; returns how long it took. */
export async function settle(
  ctx: Ctx,
  phases: string[],
  maxMs = ctx.opts.settleMaxMs,
): Promise<number | null> {
  const started = now();
  const ok = await waitUntil(
    () => ctx.signal.aborted || phases.every((p) => ctx.tracker.pending(p) === 0),
    maxMs,
    50,
  );
  checkAbort(ctx.signal);
  return ok ? Math.round(now() - started) : null;
}

export function cpuPerEvent(use: PhaseUse, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (!events) return out;
  for (const [role, p] of Object.entries(use.processes)) out[role] = round(p.cpuMs / events, 2);
  return out;
}

interface StepOutcome {
  step: RampStep;
  phase: string;
  delivered: number;
  seconds: number;
}

async function rampStep(ctx: Ctx, shape: Shape, rate: number, phase: string, durationMs: number) {
  const t0 = now();
  const backlog0 = ctx.tracker.backlogAt(shape.name, t0);
  const load = await runLoad(ctx.tracker, shape, `${ctx.runTag}-${shape.name}-${phase}`, {
    phase,
    rate,
    durationMs,
    maxInFlight: ctx.opts.maxInFlight,
    settleMs: 0,
    signal: ctx.signal,
  });
  const t1 = now();
  const seconds = (t1 - t0) / 1000;
  const accepted = ctx.tracker.acceptedBetween(shape.name, t0, t1);
  const delivered = ctx.tracker.deliveredBetween(shape.name, t0, t1);
  const growth = ctx.tracker.backlogAt(shape.name, t1) - backlog0;
  const events = ctx.tracker.ofPhase(phase);
  const errors = events.filter((e) => e.acceptStatus !== null && !isAccepted(e.acceptStatus)).length;
  // Kept up: the backlog did not grow by more than noise (5 % of the step, or 3 events), every event due
  // was sent and accepted at the rate offered, and errors stayed under 1 %.
  const saturated =
    growth > Math.max(3, 0.05 * accepted) ||
    load.skipped > 0.02 * load.offered ||
    accepted / seconds < 0.85 * rate ||
    errors > 0.01 * load.offered;
  const step: RampStep = {
    rate,
    offeredPerSec: round(load.offered / seconds, 1),
    acceptedPerSec: round(accepted / seconds, 1),
    deliveredPerSec: round(delivered / seconds, 1),
    backlogGrowth: growth,
    skipped: load.skipped,
    errors,
    saturated,
  };
  ctx.say(
    `  ${shape.name} ${rate}/s: accepted ${step.acceptedPerSec}/s, delivered ${step.deliveredPerSec}/s, backlog ${growth >= 0 ? '+' : ''}${growth}${saturated ? '  (did not keep up)' : ''}`,
  );
  return { step, phase, delivered, seconds } satisfies StepOutcome;
}

/**
 * The saturation search: offered rates rise geometrically until a step's backlog grows; the rate is then
 * refined by bisection between the last step that kept up and the first that did not (the backlog is
 * delivered before each try), and the highest rate that kept up is held once more to measure delivered
 * events/s, CPU and memory at saturation.
 */
export async function saturation(ctx: Ctx, shape: Shape): Promise<SaturationResult> {
  const { ramp } = ctx.opts;
  const steps: RampStep[] = [];
  const phases: string[] = [];
  const at = async (rate: number, label: string, durationMs = ramp.stepMs) => {
    checkAbort(ctx.signal);
    const outcome = await rampStep(ctx, shape, rate, `${shape.name}-${label}`, durationMs);
    phases.push(outcome.phase);
    steps.push(outcome.step);
    return outcome;
  };

  let lastOk: StepOutcome | null = null;
  let firstBad: StepOutcome | null = null;
  await quiet(ctx, `the ${shape.name} saturation search`);
  for (let i = 0; i < ramp.maxSteps && !firstBad; i++) {
    const o = await at(round(ramp.startRate * ramp.factor ** i, 1), `ramp${i}`);
    if (o.step.saturated) firstBad = o;
    else lastOk = o;
  }
  let overload: SaturationResult['overload'] = null;
  let drained: number | null = null;
  let lo = lastOk?.step.rate ?? 0;
  let hi = firstBad?.step.rate ?? null;
  if (firstBad) {
    const events = ctx.tracker.ofPhase(firstBad.phase).filter((e) => e.acceptedAt !== null);
    overload = {
      rate: firstBad.step.rate,
      acceptedPerSec: firstBad.step.acceptedPerSec,
      deliveredPerSec: firstBad.step.deliveredPerSec,
      acceptMs: percentiles(events.map((e) => e.acceptMs!)),
    };
    drained = await settle(ctx, phases);
    for (let j = 0; j < ramp.refineSteps && hi !== null; j++) {
      const mid = round((lo + hi) / 2, 1);
      if (mid - lo < 1) break;
      await quiet(ctx, `${shape.name} at ${mid}/s`);
      const o = await at(mid, `refine${j}`);
      await settle(ctx, phases);
      if (o.step.saturated) hi = mid;
      else lo = mid;
    }
  }

  let deliveredPerSec = lastOk?.step.deliveredPerSec ?? 0;
  let acceptedPerSec = lastOk?.step.acceptedPerSec ?? 0;
  let resources: PhaseUse | null = null;
  let cpuMsPerEvent: Record<string, number> | null = null;
  let acceptMs: Percentiles | null = null;
  let sustainKeptUp: boolean | null = null;
  let sustainedRate: number | null = lo > 0 ? lo : null;
  let sustainErrors = 0;
  // Hold the highest rate that kept up; if the longer run falls behind, step down (at most twice).
  for (let attempt = 0, rate = lo; attempt < 3 && rate > 0 && ramp.holdMs > 0; attempt++) {
    await settle(ctx, phases);
    await quiet(ctx, `${shape.name} at ${rate}/s`);
    const label = `${shape.name}: at saturation (${rate}/s)`;
    ctx.sampler.begin(label);
    const o = await at(rate, `sustain${attempt}`, ramp.holdMs);
    const use = await ctx.sampler.end(label);
    sustainKeptUp = !o.step.saturated;
    if (attempt === 0 || sustainKeptUp || o.step.deliveredPerSec > deliveredPerSec) {
      resources = use;
      deliveredPerSec = o.step.deliveredPerSec;
      acceptedPerSec = o.step.acceptedPerSec;
      cpuMsPerEvent = cpuPerEvent(use, o.delivered);
      acceptMs = percentiles(
        ctx.tracker
          .ofPhase(o.phase)
          .filter((e) => e.acceptedAt !== null)
          .map((e) => e.acceptMs!),
      );
      sustainedRate = rate;
      sustainErrors = o.step.errors;
    }
    if (sustainKeptUp) break;
    hi = Math.min(hi ?? rate, rate);
    rate = round(rate * 0.85, 1);
  }
  const finalDrain = await settle(ctx, phases);
  return {
    shape: shape.name,
    steps,
    saturated: firstBad !== null,
    maxSustainedOfferedRate: sustainedRate,
    minSaturatingRate: hi,
    deliveredPerSec,
    acceptedPerSec,
    sustainKeptUp,
    acceptMs,
    sustainErrors,
    overload,
    backlogDrainedMs: drained ?? finalDrain,
    resources,
    cpuMsPerEvent,
  };
}

/** Offers `rate` events/s for the phase's time, then waits for their deliveries and summarises. */
export async function steadyRun(
  ctx: Ctx,
  shape: Shape,
  label: string,
  rate: number,
  durationMs: number,
  fraction: number | null,
  maxEvents?: number,
): Promise<RunResult> {
  await quiet(ctx, `${shape.name} ${label}`);
  const phase = `${shape.name}-${label}`;
  const counted = shape.name === 'product' && ctx.pgCounted ? ctx.pgCounted : null;
  const pgBefore = counted ? await pgSnapshot(counted, null, null) : null;
  ctx.sampler.begin(`${shape.name}: ${label}`);
  const load = await runLoad(ctx.tracker, shape, `${ctx.runTag}-${shape.name}-${label}`, {
    phase,
    rate,
    durationMs,
    maxInFlight: ctx.opts.maxInFlight,
    ...(maxEvents === undefined ? {} : { maxEvents }),
    signal: ctx.signal,
  });
  const seconds = Math.max(0.001, (load.endedAt - load.startedAt) / 1000);
  await settle(ctx, [phase]);
  const resources = await ctx.sampler.end(`${shape.name}: ${label}`);
  let postgres: PgPerEvent | null = null;
  if (counted && pgBefore) {
    // The attempt log is written just after the receiver answers: let the last ones land.
    await sleep(500);
    postgres = perEvent(pgBefore, await pgSnapshot(counted, null, null), ctx.tracker.ofPhase(phase).length);
  }
  const figures = loadFigures(ctx.tracker.ofPhase(phase), load, seconds);
  const result: RunResult = {
    shape: shape.name,
    label,
    fraction,
    rate,
    seconds: round(seconds, 1),
    ...figures,
    offeredPerSec: round(load.offered / seconds, 1),
    resources,
    cpuMsPerEvent: cpuPerEvent(resources, figures.delivered),
    ...(counted ? { postgres } : {}),
  };
  ctx.say(
    `  ${shape.name} ${label} at ${rate}/s: accept p99 ${result.acceptMs.p99} ms, end-to-end p50/p99 ${result.endToEndMs.p50}/${result.endToEndMs.p99} ms`,
  );
  return result;
}

/** What a phase's events say: counts, rates and latencies, the same for every section that runs load. */
export function loadFigures(
  events: TrackedEvent[],
  load: Pick<LoadResult, 'offered' | 'skipped'>,
  seconds: number,
) {
  const accepted = events.filter((e) => e.acceptedAt !== null);
  const delivered = events.filter((e) => e.deliveredAt !== null);
  return {
    offered: load.offered,
    accepted: accepted.length,
    delivered: delivered.length,
    errors: events.filter((e) => e.acceptStatus !== null && !isAccepted(e.acceptStatus)).length,
    skipped: load.skipped,
    undelivered: accepted.length - accepted.filter((e) => e.deliveredAt !== null).length,
    acceptedPerSec: round(accepted.length / seconds, 1),
    deliveredPerSec: round(delivered.length / seconds, 1),
    acceptMs: percentiles(accepted.map((e) => e.acceptMs!)),
    acceptP99Interval: quantileInterval(accepted.map((e) => e.acceptMs!)),
    endToEndMs: percentiles(delivered.map((e) => e.deliveredAt! - e.sentAt)),
  };
}

export async function latencyRuns(ctx: Ctx, shape: Shape, saturationRate: number): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const fraction of ctx.opts.fractions) {
    const rate = round(Math.max(0.5, saturationRate * fraction), 1);
    out.push(
      await steadyRun(
        ctx,
        shape,
        `${Math.round(fraction * 100)}pct`,
        rate,
        ctx.opts.latencyMs,
        fraction,
        ctx.opts.latencyMaxEvents,
      ),
    );
  }
  return out;
}

export async function ceilingRun(ctx: Ctx, ceiling: Baseline): Promise<CeilingResult> {
  const { concurrency, loopMs, singleMs } = ctx.opts.ceiling;
  const okBefore = ctx.tracker.untracked.get('/ceiling') ?? 0;
  const single = await ceiling.loop(1, singleMs, `${ctx.runTag}-ceil1`);
  ctx.sampler.begin('ceiling: POST loop');
  const loop = await ceiling.loop(concurrency, loopMs, `${ctx.runTag}-ceilN`);
  const resources = await ctx.sampler.end('ceiling: POST loop');
  await sleep(200);
  const received = (ctx.tracker.untracked.get('/ceiling') ?? 0) - okBefore;
  const result: CeilingResult = {
    concurrency,
    postsPerSec: round(loop.count / loop.seconds, 0),
    latencyMs: loop.latencyMs,
    unloadedLatencyMs: single.latencyMs,
    errors: loop.errors + single.errors,
    receivedOk: received,
    sentOk: loop.count + single.count,
    resources,
  };
  ctx.say(
    `  ceiling: ${result.postsPerSec} POST/s at ${concurrency} in flight; unloaded p50 ${single.latencyMs.p50} ms`,
  );
  return result;
}

/** The drain schedule: short waits first, then 5 s steps covering the outage and a margin. */
export function drainRetrySchedule(downSeconds: number): string[] {
  const steps = Math.min(47, Math.ceil((downSeconds + 30) / 5));
  return ['1s', '2s', '5s', ...Array.from({ length: steps }, () => '5s')];
}

export async function drainRun(
  ctx: Ctx,
  shape: Shape,
  downPrefix: string,
  saturationRate: number,
  operatorId: string,
  operationalEvents: () => Promise<Record<string, number> | null>,
): Promise<DrainResult> {
  const { drainWarmMs, drainRecoveryMaxMs, drainDownS } = ctx.opts;
  const rate = round(Math.max(1, saturationRate * 0.5), 1);
  const phase = 'product-drain';
  await quiet(ctx, 'the drain phase');
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort);
  const counts0 = ctx.receiver.counts();
  const duplicates0 = ctx.tracker.duplicates + ctx.tracker.duplicateDeliveries;
  const loading = runLoad(ctx.tracker, shape, `${ctx.runTag}-drain`, {
    phase,
    rate,
    durationMs: drainWarmMs + drainDownS * 1000 + drainRecoveryMaxMs,
    maxInFlight: ctx.opts.maxInFlight,
    signal: stop.signal,
  });
  try {
    await sleep(drainWarmMs);
    const tDown = now();
    const steadyBacklog = ctx.tracker.backlogAt('product', tDown);
    ctx.receiver.setDown(downPrefix, true);
    ctx.sampler.begin('product: receiver down');
    ctx.say(`  receiver down for ${drainDownS} s under ${rate}/s`);
    await sleep(drainDownS * 1000);
    checkAbort(ctx.signal);
    const tUp = now();
    ctx.receiver.setDown(downPrefix, false);
    const resourcesDown = await ctx.sampler.end('product: receiver down');
    ctx.sampler.begin('product: recovery');
    const cohort = ctx.tracker.ofPhase(phase).filter((e) => e.sentAt <= tUp);
    const backlogAtRecovery = cohort.filter(
      (e) => e.acceptedAt !== null && (e.deliveredAt === null || e.deliveredAt > tUp),
    ).length;
    const done = await waitUntil(
      () =>
        ctx.signal.aborted ||
        cohort.every(
          (e) => (e.acceptStatus !== null && !isAccepted(e.acceptStatus)) || e.deliveredAt !== null,
        ),
      drainRecoveryMaxMs,
      50,
    );
    checkAbort(ctx.signal);
    stop.abort();
    await loading;
    const resourcesRecovery = await ctx.sampler.end('product: recovery');
    await settle(ctx, [phase]);
    const lastDelivered = Math.max(tUp, ...cohort.map((e) => e.deliveredAt ?? 0));
    const drainMs = done ? Math.round(lastDelivered - tUp) : null;
    const timeline = ctx.tracker.timeline('product').delivered.filter((t) => t >= tUp);
    const steady = timeline.find((t) => ctx.tracker.backlogAt('product', t + 0.001) <= steadyBacklog + 2);
    const counts1 = ctx.receiver.counts();
    const delayed = cohort.filter(
      (e) => e.acceptedAt !== null && e.deliveredAt !== null && e.deliveredAt > tUp,
    );
    const temporalOfDelayed = delayed.length
      ? await costOf(
          ctx.client,
          delayed.slice(0, 20).map((e) => eventWorkflowId(operatorId, e.id)),
          30_000,
        )
      : null;
    const result: DrainResult = {
      skipped: false,
      rate,
      downSeconds: drainDownS,
      retrySchedule: drainRetrySchedule(drainDownS),
      backlogAtRecovery,
      drainMs,
      catchUpPerSec: drainMs ? round(backlogAtRecovery / (drainMs / 1000), 1) : null,
      backToSteadyMs: steady === undefined ? null : Math.round(steady - tUp),
      undeliveredAfterMax: cohort.filter((e) => e.acceptedAt !== null && e.deliveredAt === null).length,
      unavailableAnswers: counts1.unavailable - counts0.unavailable,
      duplicates: ctx.tracker.duplicates + ctx.tracker.duplicateDeliveries - duplicates0,
      resourcesDown,
      resourcesRecovery,
      temporalOfDelayed,
      operationalEvents: await operationalEvents().catch(() => null),
    };
    ctx.say(
      `  backlog ${backlogAtRecovery} at recovery, all delivered ${drainMs === null ? 'not within the limit' : `${drainMs} ms`} later`,
    );
    return result;
  } finally {
    ctx.receiver.setDown(downPrefix, false);
    stop.abort();
    ctx.signal.removeEventListener('abort', onAbort);
    await loading;
  }
}
