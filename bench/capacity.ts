/**
 * The capacity and cost model: from one bench run's per-event figures on this machine, the cores each tier
 * needs and what Temporal Cloud would bill for a target rate, endpoints per event and share of failed first
 * attempts. Pure functions; `renderCapacity` writes the section of the bench's report, and
 *
 *   node --import tsx bench/capacity.ts bench/results/<timestamp>.json
 *
 * prints it again from a saved result (for example after changing an assumption below).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RunResult } from './phases.js';
import type { CostResult } from './cost.js';

/** What the model reads of a bench result (report.ts's BenchResult has it). */
export interface CapacitySource {
  startedAt: string;
  mode: string;
  cost: { product: CostResult[] } | { skipped: true };
  latency: { product?: RunResult[] | undefined };
}

export const TIERS = ['api', 'worker', 'temporal', 'postgres'] as const;
export type Tier = (typeof TIERS)[number];
export type TierMs = Record<Tier, number>;

/** What one event costs, read from a bench run. */
export interface PerEventFigures {
  /** CPU ms per delivered event with one endpoint, by tier, at half of the product's saturation. */
  cpuOne: TierMs;
  /** CPU ms each further endpoint adds (5 endpoints minus 1, over 4, both cost phases at the same rate). */
  cpuPerEndpoint: TierMs;
  /**
   * Temporal Cloud's billable actions per event with one endpoint, and what each further endpoint adds
   * (temporal-cost.ts, billableActions: the local activities of one workflow task are one action).
   */
  actionsOne: number;
  actionsPerEndpoint: number;
  /** Actions a delivery's failed first attempt adds (measured: first attempts refused, retries accepted). */
  actionsPerFailure: number;
  /** Encoded history bytes per event with one endpoint, and what each further endpoint adds. */
  historyBytesOne: number;
  historyBytesPerEndpoint: number;
  /** Where the figures came from. */
  source: string;
}

export interface Scenario {
  eventsPerSec: number;
  endpoints: number;
  /** Share of deliveries whose first attempt fails (and whose retry succeeds). */
  failedFirst: number;
}

/** The model's stated assumptions: each one a number a reader can change. */
export interface Assumptions {
  /** Busy share of a core each tier is sized for (headroom for bursts and retries after an outage). */
  utilisation: number;
  /** CPU a failed first attempt adds, as a share of what one more endpoint's delivery costs. */
  failureCpuPerEndpoint: number;
  /** Days closed histories are retained (temporal:setup's default follows RETENTION_DELIVERIES_AFTER). */
  retentionDays: number;
  /** A billing month. */
  monthHours: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  utilisation: 0.7,
  failureCpuPerEndpoint: 1,
  retentionDays: 90,
  monthHours: 720,
};

/**
 * Temporal Cloud's list prices, pay-as-you-go on the Business plan, as published in the Temporal
 * documentation's pricing page (docs/evaluate/cloud/pricing.mdx) read on 2026-12-05. Above the last tier
 * the price is negotiated; the model goes on at the last list price, so it is a ceiling there.
 */
export const PRICE_LIST = {
  readOn: '2026-12-05',
  /** [actions up to, USD per million], cumulative upper bounds. */
  actionTiers: [
    [5e6, 50],
    [10e6, 45],
    [20e6, 40],
    [50e6, 35],
    [100e6, 30],
    [200e6, 25],
  ] as [number, number][],
  retainedPerGbh: 0.00105,
  activePerGbh: 0.042,
  /** Business plan: the greater of this or `planShare` of the usage. */
  planMinimum: 500,
  planShare: 0.1,
  /** A namespace's default (and floor) actions per second; capacity beyond it comes in units of 500 APS. */
  defaultAps: 500,
  apsPerUnit: 500,
};

/** USD for a month's actions on the list's volume tiers (beyond the last, at its price). */
export function priceActions(actions: number): number {
  let usd = 0;
  let from = 0;
  for (const [upTo, perMillion] of PRICE_LIST.actionTiers) {
    if (actions <= from) break;
    usd += ((Math.min(actions, upTo) - from) / 1e6) * perMillion;
    from = upTo;
  }
  const last = PRICE_LIST.actionTiers.at(-1)![1];
  if (actions > from) usd += ((actions - from) / 1e6) * last;
  return Math.round(usd * 100) / 100;
}

export interface CapacityRow extends Scenario {
  /** Cores per tier at the assumed utilisation. */
  cores: TierMs;
  actionsPerEvent: number;
  actionsPerSec: number;
  /** Namespace capacity beyond the default: units of 500 APS. */
  extraCapacityUnits: number;
  actionsPerMonth: number;
  actionsUsd: number;
  /** Closed histories kept for the retention period, billed per GB-hour. */
  retainedGb: number;
  retainedUsd: number;
  planUsd: number;
  totalUsd: number;
}

export function capacityRow(fig: PerEventFigures, s: Scenario, a = DEFAULT_ASSUMPTIONS): CapacityRow {
  const more = s.endpoints - 1;
  const failures = s.failedFirst * s.endpoints;
  const cores = {} as TierMs;
  for (const t of TIERS) {
    const ms =
      fig.cpuOne[t] +
      more * fig.cpuPerEndpoint[t] +
      failures * a.failureCpuPerEndpoint * fig.cpuPerEndpoint[t];
    cores[t] = round((s.eventsPerSec * ms) / 1000 / a.utilisation, 1);
  }
  const actionsPerEvent = fig.actionsOne + more * fig.actionsPerEndpoint + failures * fig.actionsPerFailure;
  const actionsPerSec = s.eventsPerSec * actionsPerEvent;
  const actionsPerMonth = actionsPerSec * a.monthHours * 3600;
  const actionsUsd = priceActions(actionsPerMonth);
  const bytesPerEvent = fig.historyBytesOne + more * fig.historyBytesPerEndpoint;
  const retainedGb = (s.eventsPerSec * 86_400 * a.retentionDays * bytesPerEvent) / 1e9;
  const retainedUsd = retainedGb * a.monthHours * PRICE_LIST.retainedPerGbh;
  const usage = actionsUsd + retainedUsd;
  const planUsd = Math.max(PRICE_LIST.planMinimum, PRICE_LIST.planShare * usage);
  return {
    ...s,
    cores,
    actionsPerEvent: round(actionsPerEvent, 2),
    actionsPerSec: Math.round(actionsPerSec),
    extraCapacityUnits: Math.max(
      0,
      Math.ceil((actionsPerSec - PRICE_LIST.defaultAps) / PRICE_LIST.apsPerUnit),
    ),
    actionsPerMonth: Math.round(actionsPerMonth),
    actionsUsd,
    retainedGb: round(retainedGb, 0),
    retainedUsd: round(retainedUsd, 0),
    planUsd: round(planUsd, 0),
    totalUsd: round(actionsUsd + retainedUsd + planUsd, 0),
  };
}

/** The scenarios a buyer asks about: 1,000 and 10,000 events/s, 1 and 5 endpoints, 1 % and 10 % failed. */
export const SCENARIOS: Scenario[] = [1_000, 10_000].flatMap((eventsPerSec) =>
  [1, 5].flatMap((endpoints) => [0.01, 0.1].map((failedFirst) => ({ eventsPerSec, endpoints, failedFirst }))),
);

function isRun(x: unknown): x is RunResult {
  return typeof x === 'object' && x !== null && 'cpuMsPerEvent' in x;
}

/** CPU ms per tier; a tier the run did not measure (PostgreSQL's backends of a given database) counts 0. */
function tiers(perEvent: Record<string, number> | undefined): TierMs | null {
  if (!perEvent || !TIERS.some((t) => typeof perEvent[t] === 'number')) return null;
  return Object.fromEntries(TIERS.map((t) => [t, perEvent[t] ?? 0])) as TierMs;
}

/** The per-event figures of a bench result, or why they cannot be read from it. */
export function figuresOf(r: CapacitySource): PerEventFigures | string {
  if ('skipped' in r.cost) return 'the cost section was skipped';
  const costs: CostResult[] = r.cost.product;
  const plain = (k: number) => costs.find((c) => c.endpoints === k && !c.deal && !c.failedFirst);
  const one = plain(1);
  const five = plain(5);
  const failed = costs.find((c) => c.endpoints === 1 && c.failedFirst);
  const half = (r.latency.product ?? []).find((run) => isRun(run) && run.fraction === 0.5);
  if (!one || !five) return 'the cost section has no 1- and 5-endpoint runs';
  if (!failed) return 'the cost section has no run with refused first attempts (a bench from before it)';
  const unmeasured = TIERS.filter((t) => typeof half?.cpuMsPerEvent[t] !== 'number');
  const cpuOne = tiers(half?.cpuMsPerEvent);
  const cpu1 = tiers(one.cpuMsPerEvent);
  const cpu5 = tiers(five.cpuMsPerEvent);
  if (!cpuOne || !cpu1 || !cpu5)
    return 'CPU per tier is missing (a bench against a running API measures no tiers)';
  const cpuPerEndpoint = {} as TierMs;
  for (const t of TIERS) cpuPerEndpoint[t] = round(Math.max(0, (cpu5[t] - cpu1[t]) / 4), 2);
  const a1 = one.temporal.perEvent;
  const a5 = five.temporal.perEvent;
  // A result saved before billable actions were counted has only the per-command sum: an upper bound.
  const counted = [a1, a5, failed.temporal.perEvent].every((p) => typeof p.billable === 'number');
  const billed = (p: typeof a1) => (counted ? p.billable : p.actions);
  return {
    cpuOne,
    cpuPerEndpoint,
    actionsOne: billed(a1),
    actionsPerEndpoint: round((billed(a5) - billed(a1)) / 4, 2),
    actionsPerFailure: round(Math.max(0, billed(failed.temporal.perEvent) - billed(a1)), 2),
    historyBytesOne: a1.historyBytes ?? 0,
    historyBytesPerEndpoint: Math.max(0, Math.round(((a5.historyBytes ?? 0) - (a1.historyBytes ?? 0)) / 4)),
    source:
      `bench run ${r.startedAt} (${r.mode}): CPU at half saturation (${half?.rate}/s, 1 endpoint), ` +
      `per-endpoint and per-failure deltas from the cost phases (${one.rate}/s)` +
      (counted
        ? ''
        : '; a result without billable actions: each local activity counted as an action, an upper bound') +
      (unmeasured.length ? `; not measured in this run, counted 0: ${unmeasured.join(', ')}` : ''),
  };
}

const usd = (v: number) => `$${Math.round(v).toLocaleString('en-US')}`;
const pct = (v: number) => `${Math.round(v * 100)} %`;

/** The model as Markdown: the figures it starts from, its assumptions, one row per scenario. */
export function renderCapacity(r: CapacitySource, a = DEFAULT_ASSUMPTIONS): string {
  const fig = figuresOf(r);
  const out: string[] = ['## Capacity and cost model', ''];
  if (typeof fig === 'string') return [...out, `Not computed: ${fig}.`, ''].join('\n');
  const ms = (t: TierMs) => TIERS.map((k) => `${k} ${t[k]}`).join(', ');
  out.push(
    `From ${fig.source}. Per event with one endpoint: CPU ms ${ms(fig.cpuOne)}; each further endpoint adds ` +
      `${ms(fig.cpuPerEndpoint)}. Temporal Cloud billable actions ${fig.actionsOne} with one endpoint, +${fig.actionsPerEndpoint} per ` +
      `further endpoint, +${fig.actionsPerFailure} per failed first attempt; history ${fig.historyBytesOne} bytes, ` +
      `+${fig.historyBytesPerEndpoint} per further endpoint.`,
    '',
    `Assumptions: each tier sized at ${pct(a.utilisation)} busy; a failed first attempt costs the CPU of ` +
      `${a.failureCpuPerEndpoint}x one more endpoint's delivery and succeeds on its retry; the API process ` +
      `hosts a worker (eager starts: the event's workflow task and local attempts run where it was accepted), ` +
      `so the worker process carries only server-side retries and commission workflows; cores are this ` +
      `machine's (the Temporal figure is the dev server's single process on SQLite: a lower bound for a ` +
      `cluster, which adds frontend/history/matching hops and its own database); Temporal Cloud at the Business ` +
      `plan's pay-as-you-go list price read on ${PRICE_LIST.readOn} (beyond 200M actions a month the price is ` +
      `negotiated: the last list price is used, a ceiling), a ${a.monthHours}-hour month, histories retained ` +
      `${a.retentionDays} days; active storage (open workflows) is left out: an event's workflow closes within ` +
      `seconds of its last delivery.`,
    '',
    '| events/s | endpoints | failed first | API cores (with its embedded worker) | worker cores (retries, commissions) | Temporal cores (self-hosted) | PostgreSQL cores | actions/event | actions/s | +500-APS units | actions/month | actions USD | retained GB | retained USD | plan USD | Cloud USD/month |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const s of SCENARIOS) {
    const row = capacityRow(fig, s, a);
    out.push(
      `| ${row.eventsPerSec.toLocaleString('en-US')} | ${row.endpoints} | ${pct(row.failedFirst)} | ` +
        `${TIERS.map((t) => row.cores[t]).join(' | ')} | ${row.actionsPerEvent} | ${row.actionsPerSec.toLocaleString('en-US')} | ` +
        `${row.extraCapacityUnits} | ${(row.actionsPerMonth / 1e9).toFixed(2)} B | ${usd(row.actionsUsd)} | ` +
        `${row.retainedGb.toLocaleString('en-US')} | ${usd(row.retainedUsd)} | ${usd(row.planUsd)} | **${usd(row.totalUsd)}** |`,
    );
  }
  out.push('');
  return out.join('\n');
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/capacity.ts <bench result .json>');
    process.exit(2);
  }
  console.log(renderCapacity(JSON.parse(readFileSync(file, 'utf8')) as CapacitySource));
}
