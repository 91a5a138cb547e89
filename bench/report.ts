import { renderCapacity } from './capacity.js';
import type { CostResult } from './cost.js';
import type { BenchOptions } from './options.js';
import type { CeilingResult, DrainResult, RunResult, SaturationResult } from './phases.js';
import { STEAL_SUSPECT_PERCENT, type PhaseUse } from './resources.js';
import { ratio } from './stats.js';
import { targetBounds, type TargetBounds } from './target-bounds.js';
import { SETTLED_PERCENT, TAIL_WINDOW_S, type NeighboursResult } from './neighbours.js';
import type { CostPerEvent } from './temporal-cost.js';
import type { WaitingResult, WaitingWindow } from './waiting.js';

/** The bench's JSON result and its Markdown rendering. */
export interface Skipped {
  skipped: true;
  reason: string;
}

export type Shapes<T> = Partial<Record<'product' | 'best' | 'naive', T>>;

export interface IntegrityShape {
  sent: number;
  accepted: number;
  rejected: number;
  delivered: number;
  /** Accepted but never delivered. */
  missing: number;
  /** Delivered although the sender saw no 2xx (a 503 whose event the reconciler started). */
  deliveredWithoutAccept: number;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
  /** What the same run allows on this machine, whatever the product's code did (bench/target-bounds.ts). */
  bound?: string;
}

export interface BenchResult {
  schema: 'affiliate-hooks-bench/1';
  startedAt: string;
  finishedAt: string;
  seconds: number;
  mode: BenchOptions['mode'];
  options: Record<string, unknown>;
  machine: Record<string, string | number | null>;
  system: Record<string, unknown>;
  ceiling: CeilingResult | Skipped;
  saturation: Shapes<SaturationResult | Skipped>;
  latency: Shapes<RunResult[]>;
  accept: {
    label: string;
    rate: number;
    acceptedPerSec: number;
    acceptMs: RunResult['acceptMs'];
    errors: number;
  }[];
  fixedRate: Shapes<RunResult> | Skipped;
  drain: DrainResult | Skipped;
  cost: { product: CostResult[]; best: CostPerEvent | null; naive: CostPerEvent | null } | Skipped;
  waiting: WaitingResult | Skipped;
  neighbours: NeighboursResult | Skipped;
  resources: { phases: PhaseUse[]; peakRssMb: Record<string, number> };
  integrity: {
    shapes: Shapes<IntegrityShape>;
    duplicateWebhookIds: number;
    duplicateDeliveries: number;
    badSignatures: number;
    ceiling: { sentOk: number; receivedOk: number } | null;
  };
  ratios: Record<string, number | null>;
  targets: Target[];
}

const SHAPES = ['product', 'best', 'naive'] as const;

/** The cost phase's plain run with `endpoints` endpoints: no deal, every first attempt accepted. */
export function happyCost(costs: CostResult[], endpoints: number): CostResult | undefined {
  return costs.find((c) => c.endpoints === endpoints && !c.deal && !c.failedFirst);
}

/** How a cost phase differs from the plain one, for its labels. */
function variantOf(c: CostResult): string {
  return `${c.deal ? ', affiliate with a deal' : ''}${c.failedFirst ? ', first attempts refused (503) then accepted' : ''}`;
}

function isSkipped(x: unknown): x is Skipped {
  return typeof x === 'object' && x !== null && (x as Skipped).skipped === true;
}

export function saturationOf(r: BenchResult, shape: (typeof SHAPES)[number]): SaturationResult | null {
  const s = r.saturation[shape];
  return s && !isSkipped(s) ? s : null;
}

/** CPU ms per delivered event of the system under test: the product's API, worker, Temporal and
 * PostgreSQL backends, or a baseline's process and Temporal (not the load generator and receivers). */
export function systemCpuMsPerEvent(run: RunResult): number | null {
  const roles =
    run.shape === 'product' ? ['api', 'worker', 'temporal', 'postgres'] : ['baseline', 'temporal'];
  const values = roles.map((role) => run.cpuMsPerEvent[role]).filter((v) => v !== undefined);
  return values.length ? Math.round(values.reduce((a, b) => a + b, 0) * 100) / 100 : null;
}

/** Ratios of the product's figures to the same run's baselines. */
export function computeRatios(r: Omit<BenchResult, 'ratios' | 'targets'>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const sat = (s: 'product' | 'best' | 'naive') => {
    const x = r.saturation[s];
    return x && !isSkipped(x) ? x.deliveredPerSec : null;
  };
  const ceiling = isSkipped(r.ceiling) ? null : r.ceiling;
  out['deliveredPerSec.product/best'] = ratio(sat('product'), sat('best'));
  out['deliveredPerSec.product/naive'] = ratio(sat('product'), sat('naive'));
  out['deliveredPerSec.product/ceiling'] = ratio(sat('product'), ceiling?.postsPerSec, 4);
  for (const run of r.latency.product ?? []) {
    for (const base of ['best', 'naive'] as const) {
      const other = r.latency[base]?.find((x) => x.fraction === run.fraction);
      for (const p of ['p50', 'p99'] as const) {
        out[`endToEnd.${p}@${run.label}.product/${base}`] = ratio(run.endToEndMs[p], other?.endToEndMs[p]);
        out[`accept.${p}@${run.label}.product/${base}`] = ratio(run.acceptMs[p], other?.acceptMs[p]);
      }
      out[`cpuMsPerEvent@${run.label}.product/${base}`] = ratio(
        systemCpuMsPerEvent(run),
        other ? systemCpuMsPerEvent(other) : null,
      );
    }
    out[`endToEnd.p50@${run.label}.product/ceilingUnloaded`] = ratio(
      run.endToEndMs.p50,
      ceiling?.unloadedLatencyMs.p50,
    );
  }
  if (!isSkipped(r.cost)) {
    const one = happyCost(r.cost.product, 1);
    out['temporalActions.product1/best'] = ratio(
      one?.temporal.perEvent.actions,
      r.cost.best?.perEvent.actions,
    );
    out['temporalActions.product1/naive'] = ratio(
      one?.temporal.perEvent.actions,
      r.cost.naive?.perEvent.actions,
    );
    out['stateTransitions.product1/best'] = ratio(
      one?.temporal.perEvent.stateTransitions,
      r.cost.best?.perEvent.stateTransitions,
    );
  }
  return out;
}

/**
 * Issue 16's cheap failures: a failed first attempt costs its retry plus at most one action, and an event
 * that waited out the receiver's outage at most 3x the happy path's actions.
 */
function failureTargets(r: Omit<BenchResult, 'targets'>): Target[] {
  if (isSkipped(r.cost)) return [];
  const out: Target[] = [];
  const happyCounts = happyCost(r.cost.product, 1)?.temporal.perEvent;
  const happy = happyCounts?.actions;
  const failed = r.cost.product.find((c) => c.failedFirst && c.endpoints === 1)?.temporal.perEvent;
  if (happy !== undefined && failed) {
    const extra = Math.round((failed.actions - happy) * 100) / 100;
    out.push({
      name: 'Actions a failed first attempt adds (its retry plus at most one)',
      target: '<= 2',
      measured: `${extra} (${failed.actions} vs ${happy} per event; ${failed.activityAttempts} activity attempts, ${failed.signals} signals, ${failed.upserts} upserts; billable ${f(failed.billable)} vs ${f(happyCounts?.billable)})`,
      met: extra <= 2,
    });
  }
  const drain = isSkipped(r.drain) ? null : r.drain;
  const held = drain?.temporalOfDelayed?.perEvent.actions;
  if (happy !== undefined && held !== undefined && drain) {
    const times = ratio(held, happy);
    out.push({
      name: `Actions of an event that waited out a ${drain.downSeconds} s receiver outage vs the happy path`,
      target: '<= 3x',
      measured: `${held} vs ${happy} = ${x(times)}`,
      met: times === null ? null : times <= 3,
    });
  }
  return out;
}

/** The run's own limits on the throughput, CPU and accept targets (bench/target-bounds.ts). */
function boundsOf(r: Omit<BenchResult, 'targets'>): TargetBounds {
  const sat = (shape: (typeof SHAPES)[number]) => saturationOf(r as BenchResult, shape);
  return targetBounds({
    product: r.latency.product ?? [],
    best: r.latency.best ?? [],
    bestPerSec: sat('best')?.deliveredPerSec ?? null,
    naivePerSec: sat('naive')?.deliveredPerSec ?? null,
    bestSaturationUse: sat('best')?.resources ?? null,
    cores: Number(r.machine.nproc) || 1,
  });
}

/** End-to-end p99 at half saturation, and the system's CPU per delivered event against the best shape's. */
function latencyAndCpuTargets(r: Omit<BenchResult, 'targets'>, bounds: TargetBounds): Target[] {
  const out: Target[] = [];
  const half = (r.latency.product ?? []).find((run) => run.fraction === 0.5);
  if (half)
    out.push({
      name: `p99 accept -> delivered at half saturation (${half.rate}/s)`,
      target: '< 150 ms',
      measured: `${f(half.endToEndMs.p99, ' ms')}`,
      met: half.endToEndMs.p99 === null ? null : half.endToEndMs.p99 < 150,
    });
  const bestHalf = (r.latency.best ?? []).find((run) => run.fraction === 0.5);
  if (half && bestHalf) {
    const mine = systemCpuMsPerEvent(half);
    const best = systemCpuMsPerEvent(bestHalf);
    const times = ratio(mine, best);
    out.push({
      name: "CPU per delivered event vs the best shape, at half of each one's saturation",
      target: '<= 1.2x',
      measured: `${f(mine, ' ms')} vs ${f(best, ' ms')} = ${x(times)}`,
      met: times === null ? null : times <= 1.2,
      bound:
        bounds.cpuFloor === null
          ? undefined
          : `>= ${bounds.cpuFloor}x: the best shape's ${bounds.bestMs} ms plus the product's PostgreSQL ${bounds.postgresMs} ms`,
    });
  }
  return out;
}

export function computeTargets(r: Omit<BenchResult, 'targets'>): Target[] {
  const targets: Target[] = [];
  const bounds = boundsOf(r);
  if (!isSkipped(r.cost)) {
    // The target is the delivery path's; with a deal the commission workflow's cost is reported on its own.
    for (const c of r.cost.product.filter((x) => !x.deal && !x.failedFirst)) {
      const limit = 3 + (c.endpoints - 1);
      const a = c.temporal.perEvent;
      targets.push({
        name: `Temporal actions per event, ${c.endpoints} endpoint(s), happy path`,
        target: `<= ${limit}`,
        measured: `${a.actions} (${a.actionsWithoutUpserts} without search-attribute upserts; ${f(a.billable)} billable on Temporal Cloud)`,
        met: a.actions <= limit,
      });
    }
  }
  targets.push(...failureTargets(r));
  targets.push(...latencyAndCpuTargets(r, bounds));
  for (const run of r.latency.product ?? []) {
    targets.push({
      name: `REST accept p99 at ${run.label.replace('pct', '%')} of saturation (${run.rate}/s)`,
      target: '< 50 ms',
      measured: `${run.acceptMs.p99} ms${acceptIntervalOf(run, 50)}`,
      met: run.acceptMs.p99 === null ? null : run.acceptMs.p99 < 50,
      bound:
        bounds.bestAcceptP99[run.label] === undefined
          ? undefined
          : `the best shape's own start p99 at ${run.label.replace('pct', '%')} of its saturation: ${f(bounds.bestAcceptP99[run.label], ' ms')}`,
    });
  }
  if (!isSkipped(r.neighbours)) {
    const nb = r.neighbours;
    const alone = nb.baselineMs.p99;
    const beside = nb.withNeighbours.endToEndMs.p99;
    const late = nb.withNeighbours.undelivered;
    const stolen = stolenPhases([nb.alone, nb.withNeighbours, ...(nb.aloneAfter ? [nb.aloneAfter] : [])]);
    targets.push({
      name: `Healthy endpoint p99 accept -> delivered beside noisy neighbours vs alone before and after (${nb.rate}/s)`,
      target: '<= 1.5x',
      measured:
        `${f(beside, ' ms')} vs ${f(alone, ' ms')} = ${x(nb.ratios.p99)}${intervalOf(nb)} (${x(nb.ratiosFirstAlone.p99)} against the first alone phase only)` +
        (late ? ` (${late} not delivered within the settle limit, not counted)` : '') +
        (stolen ? `; **the hypervisor stalled the machine** (${stolen}): this run measures the host` : ''),
      met: nb.ratios.p99 === null ? null : nb.ratios.p99 <= 1.5 && late === 0,
    });
    targets.push({
      name: 'A 1/s rate-limited backlog drains at its limit beside the healthy load',
      target: '>= 0.9/s',
      measured: `${f(nb.backlog.drainPerSec, '/s')} (${nb.backlog.arrivedDuringPhase} in ${nb.withNeighbours.seconds} s)`,
      met: nb.backlog.drainPerSec === null ? null : nb.backlog.drainPerSec >= 0.9,
    });
  }
  const p = saturationOf(r as BenchResult, 'product');
  const b = saturationOf(r as BenchResult, 'best');
  const n = saturationOf(r as BenchResult, 'naive');
  if (p && b)
    targets.push({
      name: 'Delivered events/s vs the best-shape engine floor',
      target: '>= 90 %',
      measured: `${p.deliveredPerSec} vs ${b.deliveredPerSec}/s = ${Math.round((p.deliveredPerSec / b.deliveredPerSec) * 100)} %`,
      met: p.deliveredPerSec >= 0.9 * b.deliveredPerSec,
      bound:
        bounds.throughputCeiling === null
          ? undefined
          : `<= ${Math.round(bounds.throughputCeiling * 100)} % with PostgreSQL as the only extra work` +
            (bounds.bestSaturationBusy === null
              ? ''
              : ` (the machine ${bounds.bestSaturationBusy} % busy at the best shape's saturation)`),
    });
  if (p && n)
    targets.push({
      name: 'Delivered events/s vs the naive engine floor',
      target: '>= 2x',
      measured: `${p.deliveredPerSec} vs ${n.deliveredPerSec}/s = ${ratio(p.deliveredPerSec, n.deliveredPerSec)}x`,
      met: p.deliveredPerSec >= 2 * n.deliveredPerSec,
      bound:
        bounds.naiveTargetInBest === null
          ? undefined
          : `2x the naive shape is ${bounds.naiveTargetInBest}x the best shape's events/s`,
    });
  return targets;
}

const f = (x: number | null | undefined, unit = '') =>
  x === null || x === undefined ? 'n/a' : `${x}${unit}`;
const x = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v}x`);
const pcts = (p: RunResult['acceptMs']) => `${f(p.p50)} / ${f(p.p95)} / ${f(p.p99)}`;

export function renderMarkdown(r: BenchResult): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  const table = (head: string[], rows: (string | number)[][]) => {
    line(`| ${head.join(' | ')} |`);
    line(`|${head.map(() => '---').join('|')}|`);
    for (const row of rows) line(`| ${row.join(' | ')} |`);
    line();
  };
  line(`# Bench ${r.startedAt} (${r.mode})`);
  line();
  line(
    `${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB, Node ${r.machine.node}, ` +
      `Temporal CLI ${r.machine.temporalCli}, PostgreSQL ${r.machine.postgres}. ` +
      `${r.options.endpoints} endpoint(s) per event, ${r.options.payloadBytes}-byte events ` +
      `(${r.machine.webhookBytes}-byte webhooks). Took ${Math.round(r.seconds)} s.`,
  );
  line();

  line('## Throughput at saturation (delivered events/s)');
  line();
  const satRows: (string | number)[][] = [];
  const best = saturationOf(r, 'best');
  const naive = saturationOf(r, 'naive');
  const ceiling = isSkipped(r.ceiling) ? null : r.ceiling;
  for (const s of SHAPES) {
    const v = saturationOf(r, s);
    if (!v) continue;
    satRows.push([
      s,
      `${v.deliveredPerSec}${v.saturated ? '' : ' (never saturated: lower bound)'}${v.sustainKeptUp === false ? ' (sustain run fell behind)' : ''}`,
      f(v.maxSustainedOfferedRate),
      f(v.minSaturatingRate),
      v.overload ? `${v.overload.rate} -> ${v.overload.deliveredPerSec}` : 'n/a',
      f(v.backlogDrainedMs === null ? null : Math.round(v.backlogDrainedMs / 100) / 10, ' s'),
      x(ratio(v.deliveredPerSec, best?.deliveredPerSec)),
      x(ratio(v.deliveredPerSec, naive?.deliveredPerSec)),
      x(ratio(v.deliveredPerSec, ceiling?.postsPerSec, 4)),
    ]);
  }
  if (ceiling)
    satRows.push([
      `ceiling (bare POST loop, ${ceiling.concurrency} in flight)`,
      ceiling.postsPerSec,
      '',
      '',
      '',
      '',
      x(ratio(ceiling.postsPerSec, best?.deliveredPerSec)),
      x(ratio(ceiling.postsPerSec, naive?.deliveredPerSec)),
      '1x',
    ]);
  table(
    [
      'shape',
      'delivered/s at saturation',
      'highest offered/s kept up',
      'lowest offered/s not kept up',
      'past saturation: offered/s -> delivered/s',
      'overload backlog delivered in',
      'vs best',
      'vs naive',
      'vs ceiling',
    ],
    satRows,
  );

  line("## Latency at a fraction of each shape's own saturation rate (ms, p50 / p95 / p99)");
  line();
  line(
    'End-to-end: from sending the event (POST /v1/events, or the workflow start) to its last delivery received.',
  );
  line();
  const latRows: (string | number)[][] = [];
  for (const s of SHAPES) {
    for (const run of r.latency[s] ?? []) {
      const b = r.latency.best?.find((y) => y.fraction === run.fraction);
      latRows.push([
        s,
        run.label.replace('pct', '%'),
        run.rate,
        run.deliveredPerSec,
        pcts(run.acceptMs),
        pcts(run.endToEndMs),
        s === 'best' ? '' : x(ratio(run.endToEndMs.p50, b?.endToEndMs.p50)),
        s === 'best' ? '' : x(ratio(run.endToEndMs.p99, b?.endToEndMs.p99)),
        f(systemCpuMsPerEvent(run)),
        s === 'best' ? '' : x(ratio(systemCpuMsPerEvent(run), b ? systemCpuMsPerEvent(b) : null)),
      ]);
    }
  }
  if (ceiling)
    latRows.push([
      'ceiling',
      'one POST at a time',
      '',
      '',
      '',
      pcts(ceiling.unloadedLatencyMs),
      '',
      '',
      '',
      '',
    ]);
  table(
    [
      'shape',
      'load',
      'offered/s',
      'delivered/s',
      'accept (start)',
      'end-to-end',
      'p50 vs best',
      'p99 vs best',
      'CPU ms/event',
      'CPU vs best',
    ],
    latRows,
  );
  line(
    'CPU ms/event: CPU time of the system under test per delivered event (product: API + worker + Temporal + ' +
      'PostgreSQL backends; baselines: their process + Temporal), load generator and receivers excluded.',
  );
  line();

  line('## REST accept (product)');
  line();
  table(
    ['load', 'offered/s', 'accepted/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'],
    r.accept.map((a) => [
      a.label,
      a.rate,
      a.acceptedPerSec,
      f(a.acceptMs.p50),
      f(a.acceptMs.p95),
      f(a.acceptMs.p99),
      a.errors,
    ]),
  );

  if (!isSkipped(r.fixedRate)) {
    line('## Fixed rate');
    line();
    const rows = SHAPES.flatMap((s) => {
      const run = r.fixedRate && !isSkipped(r.fixedRate) ? r.fixedRate[s] : undefined;
      return run
        ? [
            [
              s,
              run.rate,
              run.acceptedPerSec,
              run.deliveredPerSec,
              pcts(run.acceptMs),
              pcts(run.endToEndMs),
              run.undelivered,
            ],
          ]
        : [];
    });
    table(
      ['shape', 'offered/s', 'accepted/s', 'delivered/s', 'accept ms', 'end-to-end ms', 'undelivered'],
      rows,
    );
  }

  line('## Backlog drain (product)');
  line();
  if (isSkipped(r.drain)) {
    line(`Skipped: ${r.drain.reason}.`);
    line();
  } else {
    const d = r.drain;
    table(
      [
        'load',
        'receiver down',
        'backlog at recovery',
        'all delivered after',
        'catch-up rate',
        'back to steady backlog after',
        '503 answers',
        'lost',
        'duplicates',
      ],
      [
        [
          `${d.rate}/s`,
          `${d.downSeconds} s`,
          d.backlogAtRecovery,
          f(d.drainMs === null ? null : d.drainMs / 1000, ' s'),
          f(d.catchUpPerSec, '/s'),
          f(d.backToSteadyMs === null ? null : d.backToSteadyMs / 1000, ' s'),
          d.unavailableAnswers,
          d.undeliveredAfterMax,
          d.duplicates,
        ],
      ],
    );
    line(
      `Endpoint retry schedule: ${JSON.stringify(d.retrySchedule.slice(0, 5))}... (${d.retrySchedule.length} waits, +-20 % jitter).`,
    );
    line();
    if (d.temporalOfDelayed) {
      const t = d.temporalOfDelayed.perEvent;
      line(
        `Temporal work per event that waited out the outage (${d.temporalOfDelayed.sampled} sampled): ${t.activityAttempts} activity attempts, ` +
          `${t.signals} signals, ${t.upserts} search-attribute upserts, ${t.workflowTasks} workflow tasks, ${t.historyEvents} history events, ` +
          `${f(t.stateTransitions)} state transitions, ${t.actions} actions.`,
      );
      line();
    }
    if (d.operationalEvents)
      line(
        `Operational events emitted during the phase: ${
          Object.entries(d.operationalEvents)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }.`,
      );
    if (d.watchWakes)
      line(
        `Wake-ups the breaker watch sent again (a first one went missing): ${d.watchWakes.sweeps} sweeps of a closed breaker, ` +
          `${d.watchWakes.probers} overdue probers woken.`,
      );
    if (d.stuck) {
      line();
      line(
        `**Events left undelivered.** Right after the phase: endpoints ${JSON.stringify(d.stuck.endpoints)}; ` +
          `unfinished deliveries ${JSON.stringify(d.stuck.unfinished)}; the API's and worker's logs kept in ${d.stuck.logsDir}.`,
      );
    }
    line();
  }

  line('## CPU (% of one core) and peak resident memory (MB)');
  line();
  const seen = new Set(r.resources.phases.flatMap((p) => Object.keys(p.processes)));
  const roles = ['api', 'worker', 'temporal', 'postgres', 'baseline', 'bench', 'other'].filter((role) =>
    seen.has(role),
  );
  table(
    [
      'phase',
      's',
      ...roles.map((role) => `${role} CPU`),
      ...roles.filter((role) => role !== 'postgres' && role !== 'other').map((role) => `${role} MB`),
      'steal (worst second)',
    ],
    r.resources.phases.map((p) => [
      p.phase,
      p.seconds,
      ...roles.map((role) => f(p.processes[role]?.cpuPercent, '%')),
      ...roles
        .filter((role) => role !== 'postgres' && role !== 'other')
        .map((role) => f(p.processes[role]?.peakRssMb)),
      p.steal ? `${p.steal.percent} % (${p.steal.worstSecondPercent} %)` : 'n/a',
    ]),
  );
  const noisy = r.resources.phases.filter((p) => (p.processes.other?.cpuPercent ?? 0) > 20);
  line(
    noisy.length
      ? `**Noise:** the rest of the machine (\`other\`) used more than 20 % of a core in ${noisy.length} phase(s) ` +
          `(${noisy.map((p) => `${p.phase}: ${p.processes.other!.cpuPercent} %`).join('; ')}): their figures are suspect.`
      : 'The rest of the machine (`other`) stayed under 20 % of a core in every phase.',
  );
  const stolen = stolenPhases(r.resources.phases.map((resources) => ({ label: resources.phase, resources })));
  line(
    stolen
      ? `**Steal:** the hypervisor took a core's CPU from this machine in some seconds (${stolen}): every ` +
          'process stalls at once, so those phases measured the host as well as the product.'
      : `The hypervisor took under ${STEAL_SUSPECT_PERCENT} % of a core (steal) in every second sampled.`,
  );
  line();
  line(
    `Peak over the whole run (VmHWM): ${Object.entries(r.resources.peakRssMb)
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}.`,
  );
  line();

  line('## Cost per event');
  line();
  if (isSkipped(r.cost)) {
    line(`Skipped: ${r.cost.reason}.`);
    line();
  } else {
    const rows: (string | number)[][] = [];
    const add = (name: string, c: CostPerEvent | null, pg: CostResult['postgres'] | null) => {
      if (!c) return;
      const p = c.perEvent;
      rows.push([
        name,
        c.sampled,
        p.actions,
        f(p.billable),
        p.starts,
        p.activityAttempts,
        p.localActivities,
        p.timers,
        p.signals,
        p.upserts,
        p.workflowTasks,
        p.historyEvents,
        f(p.stateTransitions),
        pg ? f(pg.roundTripsPerEvent) : '0',
        pg ? f(pg.transactionsPerEvent) : '0',
        pg ? f(pg.xactsPerEvent) : '',
      ]);
    };
    for (const c of r.cost.product)
      add(`product, ${c.endpoints} endpoint(s)${variantOf(c)}`, c.temporal, c.postgres);
    add('best (eager + local activity)', r.cost.best, null);
    add('naive (start + activity)', r.cost.naive, null);
    table(
      [
        'shape',
        'workflows',
        'actions',
        'billable actions (Temporal Cloud)',
        'starts',
        'activity attempts',
        'local activities',
        'timers',
        'signals',
        'SA upserts',
        'workflow tasks',
        'history events',
        'state transitions',
        'PG round trips',
        'PG transactions',
        'xact_commit (cross-check)',
      ],
      rows,
    );
    for (const c of r.cost.product) {
      line(
        `Where the work ran with ${c.endpoints} endpoint(s)${variantOf(c)}, per event: ` +
          Object.entries(c.temporal.ranOn)
            .map(([who, v]) => `${who} ${v.workflowTasks} workflow tasks, ${v.activityTasks} activity tasks`)
            .join('; ') +
          '.',
      );
      line();
      line(
        `PostgreSQL round trips per event with ${c.endpoints} endpoint(s), by statement: ` +
          c.postgres.byStatement.map((s) => `${s.perEvent} x \`${s.statement.slice(0, 60)}\``).join('; ') +
          '.',
      );
      line();
    }
  }

  renderGrowth(r, line, table);
  renderNeighbours(r, line, table);
  renderWaiting(r, line, table);

  line('## Targets');
  line();
  table(
    ['target', 'wanted', 'measured', 'met', 'what this run allows on this machine'],
    r.targets.map((t) => [
      t.name,
      t.target,
      t.measured,
      t.met === null ? 'n/a' : t.met ? 'yes' : '**no**',
      t.bound ?? '',
    ]),
  );

  line(renderCapacity(r));

  line('## Delivery integrity');
  line();
  table(
    [
      'shape',
      'sent',
      'accepted',
      'rejected',
      'delivered',
      'accepted, not delivered',
      'delivered without 2xx',
    ],
    SHAPES.flatMap((s) => {
      const i = r.integrity.shapes[s];
      return i ? [[s, i.sent, i.accepted, i.rejected, i.delivered, i.missing, i.deliveredWithoutAccept]] : [];
    }),
  );
  line(
    `Duplicate 200s to one webhook-id: ${r.integrity.duplicateWebhookIds}; one event delivered twice to an endpoint ` +
      `under different webhook-ids: ${r.integrity.duplicateDeliveries}; bad signatures: ${r.integrity.badSignatures}` +
      (r.integrity.ceiling
        ? `; ceiling POSTs answered ${r.integrity.ceiling.sentOk}, received ${r.integrity.ceiling.receivedOk}.`
        : '.'),
  );
  line();
  return out.join('\n');
}

type Line = (s?: string) => void;
type Table = (head: string[], rows: (string | number)[][]) => void;

const PRODUCT_ROLES = ['api', 'worker', 'temporal', 'postgres'] as const;

/** CPU ms per event of the product's processes, `api / worker / temporal / postgres = total`. */
function cpuSplit(perEvent: Record<string, number> | undefined): string {
  if (!perEvent) return 'n/a';
  const parts = PRODUCT_ROLES.map((role) => perEvent[role]);
  if (parts.every((v) => v === undefined)) return 'n/a';
  const total = Math.round(parts.reduce<number>((a, v) => a + (v ?? 0), 0) * 10) / 10;
  return `${parts.map((v) => f(v === undefined ? null : Math.round(v * 10) / 10)).join(' / ')} = **${total}**`;
}

/**
 * How the cost of an event grows with the offered rate and the endpoints per event: Temporal actions and
 * PostgreSQL round trips per event (counted) and CPU per delivered event (measured), from the cost phase
 * (10/s, 1 and 5 endpoints) and the product's latency runs (25 / 50 / 90 % of its saturation rate).
 */
function renderGrowth(r: BenchResult, line: Line, table: Table) {
  const rows: (string | number)[][] = [];
  if (!isSkipped(r.cost))
    for (const c of r.cost.product)
      rows.push([
        `cost phase${variantOf(c)}`,
        c.endpoints,
        f(c.rate),
        c.temporal.perEvent.actions,
        f(c.postgres.roundTripsPerEvent),
        cpuSplit(c.cpuMsPerEvent),
      ]);
  for (const run of r.latency.product ?? [])
    rows.push([
      `${run.label.replace('pct', '%')} of saturation`,
      Number(r.options.endpoints ?? 1),
      run.rate,
      f(run.temporal?.perEvent.actions),
      f(run.postgres?.roundTripsPerEvent),
      cpuSplit(run.cpuMsPerEvent),
    ]);
  if (!rows.length) return;
  line('## Cost growth: events/s and endpoints per event');
  line();
  table(
    [
      'run',
      'endpoints/event',
      'offered/s',
      'Temporal actions/event',
      'PG round trips/event',
      'CPU ms/event: API / worker / Temporal / PostgreSQL = total',
    ],
    rows,
  );
  line(
    'Actions from the histories (cost phase: every workflow; latency runs: a sample of 20); round trips from ' +
      'the preloaded counter over the whole run; CPU over the run per delivered event, so at low rates it ' +
      "includes the processes' idle CPU spread over few events.",
  );
  line();
}

function renderWaiting(r: BenchResult, line: Line, table: Table) {
  line('## Deliveries waiting to retry');
  line();
  if (isSkipped(r.waiting)) {
    line(`Skipped: ${r.waiting.reason}.`);
    line();
    return;
  }
  const w = r.waiting;
  const mb = (bytes: number | null | undefined) =>
    bytes === null || bytes === undefined ? 'n/a' : `${Math.round((bytes / 1024 ** 2) * 10) / 10}`;
  const sqlite = (x: WaitingWindow) =>
    x.temporalDbBytes ? `${mb(x.temporalDbBytes.db)} + ${mb(x.temporalDbBytes.wal)}` : 'n/a';
  const row = (name: string, x: WaitingWindow) => [
    name,
    x.resources.seconds,
    ...PRODUCT_ROLES.map((role) => f(x.cpuPercent[role], '%')),
    f(x.cpuPercent.other, '%'),
    ...(['api', 'worker', 'temporal'] as const).map((role) => f(x.rssMb[role])),
    sqlite(x),
    mb(x.postgresDbBytes),
  ];
  table(
    [
      'window',
      's',
      ...PRODUCT_ROLES.map((role) => `${role} CPU`),
      'other CPU',
      'api MB',
      'worker MB',
      'temporal MB',
      'Temporal SQLite MB (db + wal)',
      'PG database MB',
    ],
    [
      row('idle, none waiting', w.idle),
      row(`idle, ${w.waiting} waiting`, w.withWaiting),
      [
        'ratio to idle',
        '',
        ...PRODUCT_ROLES.map((role) => x(w.ratioToIdle[role])),
        x(w.ratioToIdle.other),
        '',
        '',
        '',
        '',
        '',
      ],
    ],
  );
  line(
    `CPU as % of one core over each window (to 0.01 %), resident memory at the end of each window. ` +
      `${w.waiting} of ${w.requested} deliveries waiting in ${w.kind === 'activity' ? "pending activities' retry timers" : 'workflow timers'} ` +
      `(endpoint answering 503, schedule ${JSON.stringify(w.retrySchedule)} +-20 %); created in ${w.createSeconds} s ` +
      `(${w.createdPerSec}/s), at ${cpuSplit(w.cpuMsPerCreated)} CPU ms each (API / worker / Temporal / PostgreSQL).`,
  );
  line();
  if (w.temporalOfSample) {
    const t = w.temporalOfSample.perEvent;
    line(
      `Temporal work so far per waiting workflow (${w.temporalOfSample.sampled} sampled): ${t.activityAttempts} activity attempts, ` +
        `${t.localActivities} local activities, ${t.timers} timers, ${t.signals} signals, ${t.upserts} search-attribute upserts, ` +
        `${t.workflowTasks} workflow tasks, ${t.historyEvents} history events, ${f(t.stateTransitions)} state transitions ` +
        '(a pending activity enters its history only when it closes, so its failed attempt is not counted here).',
    );
    line();
  }
  if (w.cleanup) {
    line(`Cleanup: ${w.cleanup}.`);
    line();
  }
}

/** An accept p99's bootstrap interval, and whether the run can tell met from missed (`limit` inside it). */
function acceptIntervalOf(run: RunResult, limit: number): string {
  const i = run.acceptP99Interval;
  if (!i) return '';
  const undecided = i.low < limit && limit <= i.high;
  return ` (90 % bootstrap interval ${i.low}-${i.high} ms of ${run.acceptMs.count}${undecided ? ': this run cannot tell met from missed' : ''})`;
}

/** The p99 ratio's bootstrap interval, and whether the run can tell met from missed (1.5x inside it). */
function intervalOf(nb: { ratioP99Interval?: { low: number; high: number } | null }): string {
  const i = nb.ratioP99Interval;
  if (!i) return '';
  const undecided = i.low <= 1.5 && 1.5 <= i.high;
  return ` (90 % bootstrap interval ${i.low}-${i.high}x${undecided ? ': this run cannot tell met from missed' : ''})`;
}

function actionsOf(c: CostPerEvent | null | undefined): string {
  if (!c) return 'n/a';
  const t = c.perEvent;
  return (
    `${t.actions}, ${f(t.billable)} billable (${t.activityAttempts} activity attempts, ${t.localActivities} local activities, ${t.timers} timers, ` +
    `${t.signals} signals, ${t.upserts} upserts; ${c.sampled} sampled, ${c.completed} completed)`
  );
}

function renderNeighbours(r: BenchResult, line: Line, table: Table) {
  line('## Noisy neighbours');
  line();
  if (isSkipped(r.neighbours)) {
    line(`Skipped: ${r.neighbours.reason}.`);
    line();
    return;
  }
  const nb = r.neighbours;
  const row = (name: string, p: NeighboursResult['alone']) => [
    name,
    p.rate,
    p.acceptedPerSec,
    p.deliveredPerSec,
    p.errors,
    pcts(p.acceptMs),
    pcts(p.endToEndMs),
    f(p.endToEndMs.max),
    p.undelivered,
    cpuSplit(p.cpuMsPerEvent),
    f(p.temporal?.perEvent.actions),
  ];
  table(
    [
      'tenant A',
      'offered/s',
      'accepted/s',
      'delivered/s',
      'refused (non-2xx)',
      'accept ms p50 / p95 / p99',
      'accept -> delivered ms p50 / p95 / p99',
      'max ms',
      'undelivered',
      'CPU ms/event: API / worker / Temporal / PostgreSQL = total',
      'Temporal actions/event',
    ],
    [
      row('alone', nb.alone),
      row('beside B and C', nb.withNeighbours),
      ...(nb.aloneAfter ? [row('alone again', nb.aloneAfter)] : []),
      [
        'both alone phases (the baseline)',
        '',
        '',
        '',
        '',
        '',
        pcts(nb.baselineMs),
        f(nb.baselineMs.max),
        '',
        '',
        '',
      ],
      [
        'ratio: beside / baseline',
        '',
        '',
        '',
        '',
        '',
        `${x(nb.ratios.p50)} / ${x(nb.ratios.p95)} / **${x(nb.ratios.p99)}**${intervalOf(nb)} (target p99 <= 1.5x)`,
        '',
        '',
        '',
        '',
      ],
      [
        'ratio: beside / first alone phase',
        '',
        '',
        '',
        '',
        '',
        `${x(nb.ratiosFirstAlone.p50)} / ${x(nb.ratiosFirstAlone.p95)} / ${x(nb.ratiosFirstAlone.p99)}`,
        '',
        '',
        '',
        '',
      ],
    ],
  );
  line(
    `Alone phases ${nb.phaseSeconds} s each, before and after the phase beside B and C (${nb.withNeighbours.seconds} s), ` +
      `at ${nb.rate}/s, one endpoint answering 200 at once; accept -> delivered runs ` +
      'from sending POST /v1/events to the arrival at the receiver. Undelivered: accepted but not delivered when ' +
      'the settle limit ran out, not in the percentiles.',
  );
  line();
  const phases = [nb.alone, nb.withNeighbours, ...(nb.aloneAfter ? [nb.aloneAfter] : [])];
  line(
    'Slowest events of each phase (seconds into the phase: accept -> delivered ms, accept ms): ' +
      phases
        .map(
          (p) =>
            `${p.label.replace('neighbours: ', '')}${p.startedAt ? ` (from ${p.startedAt})` : ''}` +
            `${p.resources.steal ? `, steal ${p.resources.steal.percent} % (worst second ${p.resources.steal.worstSecondPercent} %)` : ''}` +
            `${p.benchStalls ? `, the bench's own loop delay p99 ${p.benchStalls.loopDelayP99Ms} / max ${p.benchStalls.loopDelayMaxMs} ms and GC pause max ${p.benchStalls.gcMaxPauseMs} ms (${p.benchStalls.gcPausesOver50Ms} over 50 ms)` : ''}: ` +
            (p.slowest ?? []).map((e) => `${e.atS} s: ${e.endToEndMs} (${e.acceptMs ?? 'n/a'})`).join(', '),
        )
        .join('; ') +
      '.',
  );
  line();
  if (phases.some((p) => p.tailOverTime?.length)) {
    line(
      `Tail over time (each phase in windows of ${TAIL_WINDOW_S} s by when the event was sent: accept -> delivered p99 ms, ` +
        'events over 200 ms): ' +
        phases
          .map(
            (p) =>
              `${p.label.replace('neighbours: ', '')}: ` +
              (p.tailOverTime ?? []).map((w) => `${w.fromS} s ${w.p99Ms ?? 'n/a'} (${w.over200})`).join(', '),
          )
          .join('; ') +
        '.',
    );
    line();
  }
  const other = phases.map((p) => p.resources.processes.other?.cpuPercent);
  if (other.some((v) => (v ?? 0) > 20))
    line(
      `**Noise:** the rest of the machine used ${other.map((v) => f(v, ' %')).join(', ')} of a core in the ` +
        'phases: they compete with it for the 2 cores, so their latencies (and the ratio) are suspect.',
    );
  line();
  const bk = nb.backlog;
  const statuses = (s: Record<string, number> | null) =>
    s
      ? Object.entries(s)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      : 'n/a';
  line(
    `**Tenant B** (one endpoint, \`rateLimitPerSecond: ${bk.rateLimitPerSecond}\`): ${bk.sent} events sent (${bk.accepted} accepted) ` +
      `in ${bk.sendSeconds} s${bk.heldAfterSeconds === null ? '' : `, all applied and waiting for their slots ${bk.heldAfterSeconds} s later`}${bk.settledAfterSeconds == null ? '' : ` and taken in by the workers ${bk.settledAfterSeconds} s after that (the machine under ${SETTLED_PERCENT} % of a core)`}, just before the phase. During the phase it received **${bk.arrivedDuringPhase}** ` +
      `(**${f(bk.drainPerSec, '/s')}**; its limit is ${bk.rateLimitPerSecond}/s), ${bk.arrivedInSection} over the ` +
      `${bk.sectionSeconds} s from the first backlog event to the end of the phase's deliveries; longest time ` +
      `without an arrival ${f(bk.longestGapS, ' s')}, ${f(bk.sinceLastArrivalS, ' s')} since the last one at the end. ` +
      `Its deliveries then: ${statuses(bk.byStatus)}. Temporal actions per event so far: ${actionsOf(bk.temporalOfSample)}.`,
  );
  line();
  const fl = nb.failing;
  line(
    `**Tenant C**: ${fl.sent} events (${fl.accepted} accepted) at ${fl.rate}/s from ${fl.warmSeconds} s before the ` +
      `backlog and the phase until the phase's deliveries were in, each to two endpoints that fail every attempt; ` +
      `retry schedule ${JSON.stringify(fl.retrySchedule.slice(0, 4))}... (${fl.retrySchedule.length} waits, +-20 % jitter). ` +
      'Deliveries as the phase ended its offering:',
  );
  line();
  table(
    ['endpoint answers', 'requests received', 'deliveries', 'retrying', 'by status', 'attempts logged'],
    fl.endpoints.map((e) => [
      e.answers,
      e.requests,
      f(e.deliveries),
      f(e.retrying),
      statuses(e.byStatus),
      f(e.attempts),
    ]),
  );
  line(`Temporal actions per C event so far: ${actionsOf(fl.temporalOfSample)}.`);
  line();
  if (fl.operationalEvents)
    line(
      `Operational events the product emitted for C: ${
        Object.entries(fl.operationalEvents)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }.`,
    );
  line();
  line(`Cleanup: ${nb.cleanup}.`);
  line();
}

/**
 * The phases whose worst sampled second lost at least STEAL_SUSPECT_PERCENT of a core to the hypervisor,
 * as `label: worst %`, or '' when none did. Such a second stalls the product and the bench's clock alike:
 * the neighbours runs that missed their target by far each held one (BENCHMARKS.md).
 */
function stolenPhases(phases: { label: string; resources: PhaseUse }[]): string {
  return phases
    .filter((p) => (p.resources.steal?.worstSecondPercent ?? 0) >= STEAL_SUSPECT_PERCENT)
    .map(
      (p) => `${p.label.replace('neighbours: ', '')}: ${p.resources.steal!.worstSecondPercent} % of a core`,
    )
    .join('; ');
}
