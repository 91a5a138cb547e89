import pg from 'pg';
import { eventWorkflowId } from '../src/domain/ids.js';
import { productShape, runLoad, type Shape } from './load.js';
import { eventJson } from './payload.js';
import { cpuPerEvent, drainRetrySchedule, loadFigures, quiet, settle, type Ctx } from './phases.js';
import type { PhaseUse } from './resources.js';
import { watchOwnStalls, type OwnStalls } from './own-stalls.js';
import { createBenchOperator, type BenchOperator } from './setup.js';
import { now, percentiles, quantileRatioInterval, ratio, round, sleep, type Percentiles } from './stats.js';
import { costOf, type CostPerEvent } from './temporal-cost.js';
import { Tracker, type TrackedEvent } from './tracker.js';

/**
 * The neighbours section: does one tenant's trouble delay another tenant's healthy deliveries?
 *
 * Tenant A (one healthy endpoint) sends `--neighbours-rate` events/s in three phases, after a few unmeasured
 * seconds of the same load (a warm-up):
 *
 * 1. **alone**: nothing else runs (`--neighbours-seconds`);
 * 2. **with neighbours**, twice as long: tenant B's endpoint (`rateLimitPerSecond: 1`) was just sent a backlog of
 *    `--neighbours-backlog` events, and tenant C's two endpoints fail every attempt, one answering 500 at once,
 *    one never answering (the product's default timeout ends each attempt), with `--neighbours-failing-rate`
 *    events/s flowing to them since a warm-up before the phase and a short retry schedule, so their retries
 *    keep flowing through the whole phase;
 * 3. **alone again** (`--neighbours-seconds`), once B's and C's workflows are terminated and the system is
 *    quiet.
 *
 * The baseline is both alone phases' events together, one before and one after the phase with neighbours,
 * so a machine that drifts during the section (a host that slows down, the Temporal dev server's SQLite file
 * that grows) moves the baseline as it moves the phase it is compared with; and the phase with neighbours is
 * as long as the two together, so each side's p99 rests on as many events. A single alone phase's p99 went
 * from 38 to 48 ms between quiet runs, which alone moved the ratio across the target.
 *
 * Reported: A's accept -> delivered (from the POST to the arrival at the receiver) p50 / p95 / p99 in every
 * phase and the ratio of the phase with neighbours to the baseline (the target: p99 within 1.5x), and to
 * the first alone phase alone (what the section reported before), B's drain rate (arrivals at its endpoint per second
 * during the phase: its limit is 1/s), C's deliveries by status (how many are retrying), and the Temporal
 * actions per event of each tenant. B's and C's events are kept out of the run's integrity figures (C's are
 * never delivered, B's drain long after): a tracker of their own counts them. At the end their workflows
 * are terminated and the hanging requests released, so nothing of them runs into the next section.
 */
export interface NeighbourPhase {
  label: string;
  rate: number;
  seconds: number;
  offered: number;
  accepted: number;
  delivered: number;
  errors: number;
  skipped: number;
  /** Accepted but not delivered when the settle limit ran out: not in the percentiles. */
  undelivered: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  acceptMs: Percentiles;
  /** From sending the event (POST /v1/events) to its delivery reaching the receiver. */
  endToEndMs: Percentiles;
  resources: PhaseUse;
  cpuMsPerEvent: Record<string, number>;
  /** Temporal work per event, from a sample of the phase's histories. */
  temporal: CostPerEvent | null;
  /**
   * The phase's slowest events, slowest first: when each was sent (seconds into the phase) and how long it
   * took. Clustered times mean a stall of the whole system; spread ones, a tail of the load itself.
   */
  slowest: { atS: number; acceptMs: number | null; endToEndMs: number }[];
  /**
   * The phase cut into windows of `TAIL_WINDOW_S` seconds (by when each event was sent): each window's events
   * and their accept -> delivered p99, so a tail that grows through a phase tells apart from stalls spread over it.
   */
  tailOverTime?: TailWindow[];
  /** The bench's own event-loop delay and GC pauses during the phase (bench/own-stalls.ts). */
  benchStalls?: OwnStalls;
  /** When the phase's offering began (UTC), to line its slowest events up with other processes' logs. */
  startedAt: string;
}

export interface TailWindow {
  fromS: number;
  events: number;
  p99Ms: number | null;
  /** Events over 200 ms accept -> delivered. */
  over200: number;
}

/** The length of one window of a phase's tail over time. */
export const TAIL_WINDOW_S = 30;

/** A phase's delivered events cut into windows of `windowS` by when they were sent (ms from the phase start). */
export function tailOverTime(
  events: { atMs: number; endToEndMs: number }[],
  phaseMs: number,
  windowS = TAIL_WINDOW_S,
): TailWindow[] {
  const count = Math.max(1, Math.ceil(phaseMs / (windowS * 1000)));
  const buckets: number[][] = Array.from({ length: count }, () => []);
  for (const e of events)
    buckets[Math.min(count - 1, Math.max(0, Math.floor(e.atMs / (windowS * 1000))))]!.push(e.endToEndMs);
  return buckets.map((b, i) => ({
    fromS: i * windowS,
    events: b.length,
    p99Ms: percentiles(b).p99,
    over200: b.filter((v) => v > 200).length,
  }));
}

export interface BacklogNeighbour {
  rateLimitPerSecond: number;
  sent: number;
  accepted: number;
  /** How long sending the backlog took (just before the phase with neighbours). */
  sendSeconds: number;
  /**
   * From the end of the send until every accepted backlog event was applied (its delivery waiting for its
   * slot): the phase starts then, so it measures a backlog held, not its intake burst. Null without a db.
   */
  heldAfterSeconds: number | null;
  /**
   * From then until the machine, the product included, used less than SETTLED_PERCENT of a core over a
   * second: the deliveries are recorded as waiting before their workers have finished taking them in (the
   * worker's first attempt of each, which finds no slot), a burst of a few seconds at 2 cores' worth that
   * the phase would otherwise start in. Null when it did not settle within SETTLE_MAX_MS, or in smoke mode.
   */
  settledAfterSeconds: number | null;
  /** Arrivals at B's endpoint while A's second phase was offered, and per second. */
  arrivedDuringPhase: number;
  drainPerSec: number | null;
  /** From the first backlog event sent to the end of the section's measurements. */
  sectionSeconds: number;
  arrivedInSection: number;
  /** Longest time without an arrival over the section (the time after the last one included). */
  longestGapS: number | null;
  sinceLastArrivalS: number | null;
  /** B's deliveries by status in PostgreSQL at the end. */
  byStatus: Record<string, number> | null;
  temporalOfSample: CostPerEvent | null;
}

export interface FailingEndpoint {
  behaviour: 'error' | 'hang';
  /** What the receiver does. */
  answers: string;
  /** Requests that had reached it when A's second phase ended its offering. */
  requests: number;
  /** Deliveries by status in PostgreSQL when A's second phase ended its offering. */
  byStatus: Record<string, number> | null;
  deliveries: number | null;
  retrying: number | null;
  /** Attempts logged for its deliveries at that moment. */
  attempts: number | null;
}

export interface FailingNeighbour {
  rate: number;
  warmSeconds: number;
  retrySchedule: string[];
  sent: number;
  accepted: number;
  endpoints: FailingEndpoint[];
  temporalOfSample: CostPerEvent | null;
  /** Events the product emitted itself for C (delivery.failing...), by type. */
  operationalEvents: Record<string, number> | null;
}

export interface NeighboursResult {
  skipped: false;
  rate: number;
  phaseSeconds: number;
  alone: NeighbourPhase;
  withNeighbours: NeighbourPhase;
  /** Tenant A alone again after B and C are stopped; null when their clean-up or the quiet wait failed. */
  aloneAfter: NeighbourPhase | null;
  /** Accept -> delivered of both alone phases' events together. */
  baselineMs: Percentiles;
  /** withNeighbours over the baseline (both alone phases), end to end: the target's ratio. */
  ratios: Ratios;
  /**
   * The p99 ratio's 90 % bootstrap interval (stats.ts, quantileRatioInterval): how far this run's events
   * pin the ratio down. An interval that holds 1.5 means the run cannot tell met from missed.
   */
  ratioP99Interval: { low: number; high: number } | null;
  /** withNeighbours over the first alone phase only. */
  ratiosFirstAlone: Ratios;
  backlog: BacklogNeighbour;
  failing: FailingNeighbour;
  cleanup: string;
}

interface Ratios {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
const ratiosOf = (x: Percentiles, base: Percentiles): Ratios => ({
  p50: ratio(x.p50, base.p50),
  p95: ratio(x.p95, base.p95),
  p99: ratio(x.p99, base.p99),
});

/** The most a phase's A events wait for their Temporal histories to complete before they are counted. */
const COST_WAIT_MS = 30_000;
/** The machine counts as settled after B's backlog below this much of one core (B's and C's own pace is far less). */
export const SETTLED_PERCENT = 50;
const SETTLE_MAX_MS = 30_000;
const SAMPLE = 20;

export async function neighboursRun(
  ctx: Ctx,
  o: { apiUrl: string; adminToken: string; padding: string; databaseUrl: string | null },
): Promise<NeighboursResult> {
  const {
    neighboursRate: rate,
    neighboursMs: phaseMs,
    neighboursBacklog: backlogEvents,
    neighboursFailingRate: failingRate,
    neighboursWarmMs: warmMs,
    settleMaxMs,
  } = ctx.opts;
  const side = new Tracker();
  const closers: (() => void)[] = [];
  const shapeOf = (tracker: Tracker, apiKey: string, maxSockets: number) => {
    const shape = productShape({
      tracker,
      apiUrl: o.apiUrl,
      apiKey,
      expected: 1,
      maxSockets,
      body: (id) => eventJson(id, o.padding),
    });
    closers.push(() => shape.close());
    return shape;
  };
  const operator = (suffix: string, endpoints: number, schedule: string[], rateLimitPerSecond?: number) =>
    createBenchOperator({
      apiUrl: o.apiUrl,
      adminToken: o.adminToken,
      receiver: ctx.receiver,
      name: `${ctx.runTag}-${suffix}`,
      endpoints,
      retrySchedule: schedule,
      ...(rateLimitPerSecond ? { rateLimitPerSecond } : {}),
    });
  // Every failing delivery keeps retrying (1 s, 2 s, then every 5 s) past the end of the phase.
  const failingSchedule = drainRetrySchedule((warmMs + SETTLE_MAX_MS + 2 * phaseMs) / 1000);
  const a = await operator('nA', 1, drainRetrySchedule(15));
  const b = await operator('nB', 1, drainRetrySchedule(15), 1);
  const c = await operator('nC', 2, failingSchedule);
  const [cError, cHang] = c.endpoints as [BenchOperator['endpoints'][0], BenchOperator['endpoints'][0]];
  ctx.receiver.setFailing(cError.path, 'error');
  ctx.receiver.setFailing(cHang.path, 'hang');
  const bArrivals = ctx.receiver.watch(b.prefix);
  const cWatch = [ctx.receiver.watch(cError.path), ctx.receiver.watch(cHang.path)] as const;
  const shapeA = shapeOf(ctx.tracker, a.apiKey, ctx.opts.maxInFlight);

  const db = o.databaseUrl
    ? new pg.Client({ connectionString: o.databaseUrl, application_name: 'affiliate-hooks-bench' })
    : null;
  await db?.connect();
  const stopTrickle = new AbortController();
  const onAbort = () => stopTrickle.abort();
  ctx.signal.addEventListener('abort', onAbort);
  let trickle: Promise<unknown> = Promise.resolve();
  let cleanup = 'nothing to clean up';
  try {
    // A few unmeasured seconds first, so that the first measured phase does not carry a cold start.
    const warmUpMs = Math.min(5_000, phaseMs);
    ctx.say(`  tenant A warming up at ${rate}/s for ${warmUpMs / 1000} s (not measured)`);
    await runLoad(ctx.tracker, shapeA, `${ctx.runTag}-neighbours-warmup`, {
      phase: 'neighbours-warmup',
      rate,
      durationMs: warmUpMs,
      maxInFlight: ctx.opts.maxInFlight,
      signal: ctx.signal,
    });
    await settle(ctx, ['neighbours-warmup']);
    await quiet(ctx, 'the neighbours section');
    ctx.say(`  tenant A alone at ${rate}/s for ${phaseMs / 1000} s`);
    const alone = await phaseRun(
      ctx,
      shapeA,
      a.id,
      'neighbours-alone',
      'neighbours: tenant A alone',
      rate,
      phaseMs,
    );

    ctx.say(
      `  tenant C: ${failingRate} events/s to an endpoint answering 500 and one never answering, ${warmMs / 1000} s before the phase`,
    );
    if (failingRate > 0) {
      const shapeC = shapeOf(side, c.apiKey, 16);
      trickle = runLoad(side, shapeC, `${ctx.runTag}-nC`, {
        phase: 'neighbour-C',
        rate: failingRate,
        // Bounded: stopped once the phase is measured, at the latest after every wait it can have.
        durationMs: warmMs + 120_000 + 2 * phaseMs + settleMaxMs,
        maxInFlight: 16,
        settleMs: 5_000,
        signal: stopTrickle.signal,
      });
    }
    await sleep(warmMs);
    checkAbort(ctx.signal);

    ctx.say(`  tenant B: a backlog of ${backlogEvents} events to its 1/s endpoint`);
    const tBacklog = now();
    const backlog = await sendBacklog(ctx, side, shapeOf(side, b.apiKey, 16), backlogEvents);
    const sendSeconds = (now() - tBacklog) / 1000;
    const tHeld = now();
    const held = await waitBacklogHeld(db, b.id, backlog.filter((e) => e.acceptedAt !== null).length);
    const heldAfterSeconds = held ? (now() - tHeld) / 1000 : null;
    const settled =
      ctx.opts.mode === 'smoke' ? null : await ctx.sampler.waitForSettled(SETTLE_MAX_MS, SETTLED_PERCENT);
    if (settled && !settled.settled)
      ctx.say(
        `  (the machine still used ${settled.lastPercent} % of a core after the backlog; the phase starts anyway)`,
      );
    checkAbort(ctx.signal);

    ctx.say(`  tenant A at ${rate}/s for ${(2 * phaseMs) / 1000} s beside them`);
    let cAtPhaseEnd: Map<string, StatusCounts> | null = null;
    let cRequestsAtPhaseEnd = [0, 0];
    let phaseWindow = { from: 0, to: 0 };
    const withNeighbours = await phaseRun(
      ctx,
      shapeA,
      a.id,
      'neighbours-noisy',
      'neighbours: tenant A beside B and C',
      rate,
      2 * phaseMs,
      async (from, to) => {
        phaseWindow = { from, to };
        cRequestsAtPhaseEnd = cWatch.map((w) => w.errors + w.hung + w.ok.length);
        cAtPhaseEnd = await deliveriesByEndpoint(db, c.id);
      },
    );
    const tEnd = now();
    stopTrickle.abort();
    await trickle;

    const inWindow = (from: number, to: number) => bArrivals.ok.filter((t) => t >= from && t < to).length;
    const arrivedDuringPhase = inWindow(phaseWindow.from, phaseWindow.to);
    const phaseSeconds = (phaseWindow.to - phaseWindow.from) / 1000;
    const gaps = gapsOf(bArrivals.ok, tBacklog, tEnd);
    const bAccepted = backlog.filter((e) => e.acceptedAt !== null);
    const bStatus = await deliveriesByEndpoint(db, b.id);
    const cEvents = side.ofPhase('neighbour-C');
    const cAccepted = cEvents.filter((e) => e.acceptedAt !== null);
    const sampleOf = (op: BenchOperator, events: TrackedEvent[]) =>
      events.slice(0, SAMPLE).map((e) => eventWorkflowId(op.id, e.id));
    const result: NeighboursResult = {
      skipped: false,
      rate,
      phaseSeconds: phaseMs / 1000,
      alone,
      withNeighbours,
      aloneAfter: null,
      baselineMs: alone.endToEndMs,
      ratios: ratiosOf(withNeighbours.endToEndMs, alone.endToEndMs),
      ratioP99Interval: null,
      ratiosFirstAlone: ratiosOf(withNeighbours.endToEndMs, alone.endToEndMs),
      backlog: {
        rateLimitPerSecond: 1,
        sent: backlog.length,
        accepted: bAccepted.length,
        sendSeconds: round(sendSeconds, 1),
        heldAfterSeconds: heldAfterSeconds === null ? null : round(heldAfterSeconds, 1),
        settledAfterSeconds: settled?.settled ? round(settled.waitedMs / 1000, 1) : null,
        arrivedDuringPhase,
        drainPerSec: phaseSeconds > 0 ? round(arrivedDuringPhase / phaseSeconds, 2) : null,
        sectionSeconds: round((tEnd - tBacklog) / 1000, 1),
        arrivedInSection: inWindow(tBacklog, tEnd),
        longestGapS: gaps.longest,
        sinceLastArrivalS: gaps.sinceLast,
        byStatus: bStatus ? sumStatuses(bStatus) : null,
        // Not completed: their work so far (an activity still waiting for its slot is not in its history).
        temporalOfSample: bAccepted.length
          ? await costOf(ctx.client, sampleOf(b, bAccepted), 0).catch(() => null)
          : null,
      },
      failing: {
        rate: failingRate,
        warmSeconds: warmMs / 1000,
        retrySchedule: failingSchedule,
        sent: cEvents.length,
        accepted: cAccepted.length,
        endpoints: (
          [
            [cError, cRequestsAtPhaseEnd[0]!, 'error', '500 at once'],
            [
              cHang,
              cRequestsAtPhaseEnd[1]!,
              'hang',
              "nothing: the product's default timeout ends each attempt",
            ],
          ] as const
        ).map(([ep, requests, behaviour, answers]) => {
          const s = (cAtPhaseEnd as Map<string, StatusCounts> | null)?.get(ep.id) ?? null;
          return {
            behaviour,
            answers,
            requests,
            byStatus: s ? s.byStatus : db ? {} : null,
            deliveries: s ? s.deliveries : db ? 0 : null,
            retrying: s ? (s.byStatus.retrying ?? 0) : db ? 0 : null,
            attempts: s ? s.attempts : db ? 0 : null,
          };
        }),
        temporalOfSample: cAccepted.length
          ? await costOf(ctx.client, sampleOf(c, cAccepted), 0).catch(() => null)
          : null,
        operationalEvents: await operationalEvents(db, c.id).catch(() => null),
      },
      cleanup,
    };
    const r = result;
    ctx.say(
      `  B received ${arrivedDuringPhase} in the ${round(phaseSeconds, 1)} s phase (${r.backlog.drainPerSec ?? 'n/a'}/s); ` +
        `C retrying: ${r.failing.endpoints.map((e) => `${e.behaviour} ${e.retrying ?? 'n/a'}/${e.deliveries ?? 'n/a'}`).join(', ')}`,
    );
    cleanup = await stopNeighbours(ctx, [
      [b, backlog],
      [c, cEvents],
    ]);
    result.cleanup = cleanup;
    // Whatever still hangs at C is released (and answered 500 from now on) before A runs alone again.
    ctx.receiver.setFailing(cHang.path, null);
    ctx.receiver.setFailing(c.prefix, 'error');
    // The terminations' own work (workflow tasks, cancelled attempts) ends first.
    await sleep(5_000);
    await quiet(ctx, 'the second alone phase');
    ctx.say(`  tenant A alone again at ${rate}/s for ${phaseMs / 1000} s`);
    const aloneAfter = await phaseRun(
      ctx,
      shapeA,
      a.id,
      'neighbours-alone-after',
      'neighbours: tenant A alone again',
      rate,
      phaseMs,
    );
    const endToEnd = (phases: string[]) =>
      phases.flatMap((phase) =>
        ctx.tracker
          .ofPhase(phase)
          .filter((e) => e.deliveredAt !== null)
          .map((e) => e.deliveredAt! - e.sentAt),
      );
    const baselineSample = endToEnd(['neighbours-alone', 'neighbours-alone-after']);
    const baseline = percentiles(baselineSample);
    result.aloneAfter = aloneAfter;
    result.baselineMs = baseline;
    result.ratios = ratiosOf(withNeighbours.endToEndMs, baseline);
    result.ratioP99Interval = quantileRatioInterval(endToEnd(['neighbours-noisy']), baselineSample);
    ctx.say(
      `  A end-to-end p99 alone ${alone.endToEndMs.p99} ms, beside B and C ${withNeighbours.endToEndMs.p99} ms, ` +
        `alone again ${aloneAfter.endToEndMs.p99} ms: ${r.ratios.p99 ?? 'n/a'}x both alone phases ` +
        `(90 % interval ${r.ratioP99Interval ? `${r.ratioP99Interval.low}-${r.ratioP99Interval.high}` : 'n/a'}), ` +
        `${r.ratiosFirstAlone.p99 ?? 'n/a'}x the first`,
    );
    return result;
  } finally {
    stopTrickle.abort();
    ctx.signal.removeEventListener('abort', onAbort);
    await trickle;
    // Release what still hangs; whatever arrives later is answered 500 at once.
    ctx.receiver.setFailing(cHang.path, null);
    ctx.receiver.setFailing(c.prefix, 'error');
    for (const close of closers) close();
    await db?.end().catch(() => undefined);
  }
}

function checkAbort(signal: AbortSignal) {
  if (signal.aborted) throw new Error(`aborted: ${String(signal.reason)}`);
}

/**
 * Offers A's events at `rate` for `ms`, then waits (bounded) for their deliveries. `atLoadEnd` runs as soon
 * as the offering ends, before the wait, with the offering's window.
 */
async function phaseRun(
  ctx: Ctx,
  shape: Shape,
  operatorId: string,
  phase: string,
  label: string,
  rate: number,
  ms: number,
  atLoadEnd?: (from: number, to: number) => Promise<void>,
): Promise<NeighbourPhase> {
  ctx.sampler.begin(label);
  const own = watchOwnStalls();
  const load = await runLoad(ctx.tracker, shape, `${ctx.runTag}-${phase}`, {
    phase,
    rate,
    durationMs: ms,
    maxInFlight: ctx.opts.maxInFlight,
    signal: ctx.signal,
  });
  await atLoadEnd?.(load.startedAt, load.endedAt);
  await settle(ctx, [phase]);
  const benchStalls = own.stop();
  const resources = await ctx.sampler.end(label);
  const seconds = Math.max(0.001, (load.endedAt - load.startedAt) / 1000);
  const events = ctx.tracker.ofPhase(phase);
  const delivered = events.filter((e) => e.deliveredAt !== null);
  const sample = delivered.slice(0, Math.min(SAMPLE, ctx.opts.costEvents));
  return {
    label,
    rate,
    seconds: round(seconds, 1),
    ...loadFigures(events, load, seconds),
    resources,
    cpuMsPerEvent: cpuPerEvent(resources, delivered.length),
    slowest: delivered
      .map((e) => ({
        atS: round((e.sentAt - load.startedAt) / 1000, 1),
        acceptMs: e.acceptMs === null ? null : round(e.acceptMs, 1),
        endToEndMs: round(e.deliveredAt! - e.sentAt, 1),
      }))
      .sort((x, y) => y.endToEndMs - x.endToEndMs)
      .slice(0, 8),
    tailOverTime: tailOverTime(
      delivered.map((e) => ({ atMs: e.sentAt - load.startedAt, endToEndMs: e.deliveredAt! - e.sentAt })),
      load.endedAt - load.startedAt,
    ),
    benchStalls,
    startedAt: new Date(load.startedAt).toISOString(),
    temporal: sample.length
      ? await costOf(
          ctx.client,
          sample.map((e) => eventWorkflowId(operatorId, e.id)),
          COST_WAIT_MS,
        ).catch(() => null)
      : null,
  };
}

/** Sends the backlog as fast as the API takes it: 16 in flight, bounded in count and in time (2 minutes). */
async function sendBacklog(ctx: Ctx, side: Tracker, shape: Shape, count: number): Promise<TrackedEvent[]> {
  const deadline = now() + 120_000;
  const events: TrackedEvent[] = [];
  let next = 0;
  const sender = async () => {
    while (next < count && now() < deadline && !ctx.signal.aborted) {
      const ev = side.sent(`${ctx.runTag}-nB-${++next}`, shape.name, 'neighbour-B', 1, now());
      events.push(ev);
      await shape.send(ev);
    }
  };
  await Promise.all(Array.from({ length: 16 }, sender));
  checkAbort(ctx.signal);
  return events;
}

/** The longest stretch without an arrival between `from` and `to`, and the time since the last one. */
function gapsOf(arrivals: number[], from: number, to: number) {
  const times = arrivals.filter((t) => t >= from && t <= to).sort((x, y) => x - y);
  if (to <= from) return { longest: null, sinceLast: null };
  let longest = 0;
  let previous = from;
  for (const t of times) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  longest = Math.max(longest, to - previous);
  return { longest: round(longest / 1000, 1), sinceLast: round((to - previous) / 1000, 1) };
}

interface StatusCounts {
  deliveries: number;
  attempts: number;
  byStatus: Record<string, number>;
}

/** An operator's deliveries by endpoint and status, with their logged attempts. */
/**
 * Waits (at most 2 minutes) until the operator's accepted events are all applied, so that its backlog is
 * held (deliveries waiting for their send slots) rather than still arriving. False without a db or on time.
 */
async function waitBacklogHeld(db: pg.Client | null, operatorId: string, accepted: number): Promise<boolean> {
  if (!db) return false;
  const deadline = now() + 120_000;
  while (now() < deadline) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND status = 'processed'`,
      [operatorId],
    );
    if (rows[0]!.n >= accepted) return true;
    await sleep(250);
  }
  return false;
}

async function deliveriesByEndpoint(
  db: pg.Client | null,
  operatorId: string,
): Promise<Map<string, StatusCounts> | null> {
  if (!db) return null;
  const { rows } = await db.query<{ endpoint_id: string; status: string; n: number; attempts: number }>(
    `SELECT endpoint_id, status, count(*)::int AS n, coalesce(sum(attempt_count), 0)::int AS attempts
       FROM deliveries WHERE operator_id = $1 GROUP BY endpoint_id, status`,
    [operatorId],
  );
  const out = new Map<string, StatusCounts>();
  for (const r of rows) {
    const s = out.get(r.endpoint_id) ?? { deliveries: 0, attempts: 0, byStatus: {} };
    s.deliveries += r.n;
    s.attempts += r.attempts;
    s.byStatus[r.status] = r.n;
    out.set(r.endpoint_id, s);
  }
  return out;
}

function sumStatuses(byEndpoint: Map<string, StatusCounts>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of byEndpoint.values())
    for (const [status, n] of Object.entries(s.byStatus)) out[status] = (out[status] ?? 0) + n;
  return out;
}

/** Events the product emitted itself for an operator (ids `sys~...`), by type. */
async function operationalEvents(db: pg.Client | null, operatorId: string) {
  if (!db) return null;
  const { rows } = await db.query<{ type: string; n: number }>(
    `SELECT type, count(*)::int AS n FROM events
      WHERE operator_id = $1 AND event_id LIKE 'sys~%' GROUP BY type ORDER BY type`,
    [operatorId],
  );
  return Object.fromEntries(rows.map((r) => [r.type, r.n]));
}

/**
 * Terminates B's and C's event workflows that still run, so that their backlog and retries do not run into
 * the next section (the bench's events only; what the product emitted itself completes on its own).
 */
async function stopNeighbours(ctx: Ctx, tenants: [BenchOperator, TrackedEvent[]][]): Promise<string> {
  const ids = tenants.flatMap(([op, events]) =>
    events.filter((e) => e.acceptedAt !== null).map((e) => eventWorkflowId(op.id, e.id)),
  );
  let terminated = 0;
  let next = 0;
  const deadline = Date.now() + 60_000;
  const worker = async () => {
    while (next < ids.length && Date.now() < deadline) {
      const id = ids[next++]!;
      try {
        await ctx.client.workflow.getHandle(id).terminate('bench: neighbours section done');
        terminated++;
      } catch {
        // completed already (B's delivered events) or never started
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return `${terminated} of B's and C's ${ids.length} event workflows were still running and were terminated`;
}
