import { parseArgs } from 'node:util';

/**
 * Command-line options and the three presets. Every phase is bounded: by its own duration, by an event
 * count, and by a wait limit for deliveries still in flight.
 */
export type Mode = 'full' | 'quick' | 'smoke';
export const SECTIONS = [
  'ceiling',
  'best',
  'naive',
  'product',
  'drain',
  'cost',
  'neighbours',
  'waiting',
] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  mode: Mode;
  /** Endpoints per event in the throughput, latency and drain phases. */
  endpoints: number;
  payloadBytes: number;
  /** A fixed-rate run of every shape at this rate (events/s), besides the saturation search. */
  rate: number | null;
  /** Seconds of the fixed-rate run. */
  durationS: number;
  drainDownS: number;
  skip: Set<Section>;
  apiUrl?: string | undefined;
  adminToken?: string | undefined;
  temporalAddress?: string | undefined;
  databaseUrl?: string | undefined;
  pids: Record<string, number>;
  outDir: string;
  maxInFlight: number;
  /** API processes behind the one port (node:cluster), each with its embedded worker; default 1. */
  apiProcesses: number;
  /** Write V8 CPU profiles of the API and worker processes next to the results. */
  profile: boolean;
  /** Extra environment for the API and worker processes the bench starts (A/B runs of a setting). */
  systemEnv: Record<string, string>;
  /** Order of the throughput sections (the Temporal SQLite file grows as the run goes on). */
  order: ('best' | 'naive' | 'product')[];
  /** Preset numbers. */
  ramp: {
    startRate: number;
    factor: number;
    stepMs: number;
    maxSteps: number;
    /** Bisection steps between the last rate that kept up and the first that did not. */
    refineSteps: number;
    holdMs: number;
  };
  /** Fractions of the saturation rate the latency phases run at. */
  fractions: number[];
  latencyMs: number;
  /** Events per latency phase at most (the smoke mode keeps it tiny). */
  latencyMaxEvents: number;
  ceiling: { concurrency: number; loopMs: number; singleMs: number };
  drainWarmMs: number;
  drainRecoveryMaxMs: number;
  costEvents: number;
  /** Wait for pg_stat_database to be flushed around the cost phases (the xact_commit cross-check). */
  costXactCheck: boolean;
  /** Longest wait for a phase's backlog to be delivered. */
  settleMaxMs: number;
  /** Deliveries left waiting to retry in the waiting section. */
  waiting: number;
  /** Where they wait: a pending activity's server-side retry timer, or a workflow timer. */
  waitingKind: 'activity' | 'timer';
  /** Length of each idle window measured in the waiting section (before and with the waiting retries). */
  idleMs: number;
  /** The neighbours section: the healthy tenant's events/s in both phases. */
  neighboursRate: number;
  /** Length of each of its two phases (alone, then with the noisy neighbours). */
  neighboursMs: number;
  /** Events the rate-limited (1/s) neighbour holds as a backlog when the second phase starts. */
  neighboursBacklog: number;
  /** Events/s sent to the failing neighbour (its endpoints fail every attempt) from the warm-up on. */
  neighboursFailingRate: number;
  /** How long the failing neighbour's events flow before the second phase starts (its retries under way). */
  neighboursWarmMs: number;
}

const USAGE = `usage: npm run bench -- [options]

  --quick                 the whole bench in about 5 minutes (default: full, about 20 minutes)
  --smoke                 a tiny run for the smoke test (seconds; figures meaningless)
  --endpoints N           endpoints per event in the throughput, latency and drain phases (default 1)
  --payload-bytes N       size of each sent event in bytes (default 1024)
  --rate N                also run every shape at N events/s for --duration seconds
  --duration S            seconds of the --rate run (default 30, quick 10)
  --drain-seconds S       how long the receiver is down in the drain phase (default 60, quick 15)
  --skip a,b              skip sections: ${SECTIONS.join(', ')}
  --api-url URL           use a running API (its worker must be allowed to reach 127.0.0.1)
  --admin-token T         admin token of that API (default $ADMIN_TOKEN)
  --temporal-address H:P  use a running Temporal server instead of starting a dev server
  --database-url URL      use this migrated database instead of a throwaway one (not dropped)
  --pids role=pid,...     processes to measure when they are not started by the bench (api, worker, temporal)
  --max-in-flight N       requests in flight at most per load generator (default 256)
  --out DIR               where to write <timestamp>.json and .md (default bench/results)
  --xact-check            cross-check round trips with pg_stat_database (adds 3 x 11 s; on in full mode)
  --env KEY=VALUE         extra environment for the API and worker the bench starts (repeatable),
                          e.g. --env API_EMBEDDED_WORKER=false
  --order a,b,c           order of best, naive, product (default best,naive,product: the product runs
                          last, on the largest Temporal database)
  --only a,b              run only these sections (the complement of --skip), e.g. --only waiting
  --waiting N             deliveries left waiting to retry in the waiting section (default 2000, quick 1000, smoke 0)
  --waiting-kind K        where they wait: activity (a pending activity's server-side retry timer, the
                          state of every retry from a delivery's second wait on; default) or timer (the
                          workflow timer after a failed local first attempt)
  --idle-seconds S        each idle window of the waiting section, before and with them (default 60, quick 30)
  --neighbours-rate N     the healthy tenant's events/s in the neighbours section (default 15)
  --neighbours-seconds S  each of its alone phases, before and after the phase with noisy neighbours (which
                          lasts twice as long) (default 60, quick 30)
  --neighbours-backlog N  events the 1/s rate-limited neighbour holds when the phase with neighbours starts
                          (default 500)
  --neighbours-failing-rate N
                          events/s to the neighbour whose endpoints fail every attempt (default 1)
  --api-processes N       API processes (each with its embedded worker) behind the one port, forked with
                          node:cluster by bench/api-cluster.ts (default 1: src/main/api.ts alone)
  --profile               write V8 CPU profiles of the API and worker (<out>/<timestamp>-profiles/<api|worker>/)`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      full: { type: 'boolean' },
      endpoints: { type: 'string' },
      'payload-bytes': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      'drain-seconds': { type: 'string' },
      skip: { type: 'string' },
      only: { type: 'string' },
      waiting: { type: 'string' },
      'waiting-kind': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'neighbours-rate': { type: 'string' },
      'neighbours-seconds': { type: 'string' },
      'neighbours-backlog': { type: 'string' },
      'neighbours-failing-rate': { type: 'string' },
      'api-url': { type: 'string' },
      'admin-token': { type: 'string' },
      'temporal-address': { type: 'string' },
      'database-url': { type: 'string' },
      pids: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'api-processes': { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      'xact-check': { type: 'boolean' },
      env: { type: 'string', multiple: true },
      order: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const int = (name: string, v: string | undefined, def: number, min: number, max: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be between ${min} and ${max}`);
    return n;
  };
  const skip = new Set<Section>();
  for (const s of (values.skip ?? '').split(',').filter(Boolean)) {
    if (!(SECTIONS as readonly string[]).includes(s))
      throw new Error(`--skip: unknown section ${s}\n${USAGE}`);
    skip.add(s as Section);
  }
  if (values.only !== undefined) {
    if (values.skip !== undefined) throw new Error('--only and --skip exclude each other');
    const only = values.only.split(',').filter(Boolean);
    for (const s of only)
      if (!(SECTIONS as readonly string[]).includes(s))
        throw new Error(`--only: unknown section ${s}\n${USAGE}`);
    for (const s of SECTIONS) if (!only.includes(s)) skip.add(s);
  }
  if (mode === 'smoke') skip.add('drain');
  const waitingKind = values['waiting-kind'] ?? 'activity';
  if (waitingKind !== 'activity' && waitingKind !== 'timer')
    throw new Error('--waiting-kind must be activity or timer');
  const pids: Record<string, number> = {};
  for (const pair of (values.pids ?? '').split(',').filter(Boolean)) {
    const [role, pid] = pair.split('=');
    if (!role || !Number(pid)) throw new Error(`--pids: expected role=pid, got ${pair}`);
    pids[role] = Number(pid);
  }
  for (const [name, url] of [
    ['api-url', values['api-url']],
    ['temporal-address', values['temporal-address'] && `http://${values['temporal-address']}`],
  ] as const) {
    if (url && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname))
      throw new Error(`--${name}: the bench sends traffic only to this machine (127.0.0.1)`);
  }

  const preset = PRESETS[mode];
  return {
    mode,
    endpoints: int('endpoints', values.endpoints, 1, 1, 20),
    payloadBytes: int('payload-bytes', values['payload-bytes'], 1024, 200, 200_000),
    rate: values.rate === undefined ? null : int('rate', values.rate, 0, 0.1, 5_000),
    durationS: int('duration', values.duration, preset.durationS, 1, 3_600),
    drainDownS: int('drain-seconds', values['drain-seconds'], preset.drainDownS, 1, 600),
    skip,
    apiUrl: values['api-url'],
    adminToken: values['admin-token'],
    temporalAddress: values['temporal-address'],
    databaseUrl: values['database-url'],
    pids,
    outDir: values.out ?? 'bench/results',
    maxInFlight: int('max-in-flight', values['max-in-flight'], 256, 1, 4_096),
    apiProcesses: int('api-processes', values['api-processes'], 1, 1, 64),
    profile: values.profile ?? false,
    systemEnv: Object.fromEntries(
      (values.env ?? []).map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new Error(`--env: expected KEY=VALUE, got ${pair}`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
    ),
    order: parseOrder(values.order),
    ...preset.numbers,
    ...(values['xact-check'] ? { costXactCheck: true } : {}),
    waiting: int('waiting', values.waiting, preset.numbers.waiting, 0, 1_000_000),
    waitingKind,
    idleMs: int('idle-seconds', values['idle-seconds'], preset.numbers.idleMs / 1000, 1, 3_600) * 1000,
    neighboursRate: int(
      'neighbours-rate',
      values['neighbours-rate'],
      preset.numbers.neighboursRate,
      0.1,
      1_000,
    ),
    neighboursMs:
      int('neighbours-seconds', values['neighbours-seconds'], preset.numbers.neighboursMs / 1000, 1, 3_600) *
      1000,
    neighboursBacklog: int(
      'neighbours-backlog',
      values['neighbours-backlog'],
      preset.numbers.neighboursBacklog,
      0,
      100_000,
    ),
    neighboursFailingRate: int(
      'neighbours-failing-rate',
      values['neighbours-failing-rate'],
      preset.numbers.neighboursFailingRate,
      0,
      100,
    ),
  };
}

type PresetNumbers = Omit<
  BenchOptions,
  | 'mode'
  | 'endpoints'
  | 'payloadBytes'
  | 'rate'
  | 'durationS'
  | 'drainDownS'
  | 'skip'
  | 'apiUrl'
  | 'adminToken'
  | 'temporalAddress'
  | 'databaseUrl'
  | 'pids'
  | 'outDir'
  | 'maxInFlight'
  | 'apiProcesses'
  | 'profile'
  | 'systemEnv'
  | 'order'
  | 'waitingKind'
>;

function parseOrder(value: string | undefined): BenchOptions['order'] {
  if (value === undefined) return ['best', 'naive', 'product'];
  const order = value.split(',').filter(Boolean);
  const all = ['best', 'naive', 'product'];
  if (order.length !== 3 || !all.every((s) => order.includes(s)))
    throw new Error('--order must list best, naive and product once each');
  return order as BenchOptions['order'];
}

const PRESETS: Record<Mode, { durationS: number; drainDownS: number; numbers: PresetNumbers }> = {
  full: {
    durationS: 30,
    drainDownS: 60,
    numbers: {
      ramp: { startRate: 10, factor: 1.4, stepMs: 12_000, maxSteps: 12, refineSteps: 3, holdMs: 30_000 },
      fractions: [0.25, 0.5, 0.9],
      latencyMs: 30_000,
      latencyMaxEvents: 100_000,
      ceiling: { concurrency: 32, loopMs: 10_000, singleMs: 5_000 },
      drainWarmMs: 10_000,
      drainRecoveryMaxMs: 240_000,
      costEvents: 100,
      costXactCheck: true,
      settleMaxMs: 180_000,
      waiting: 2_000,
      idleMs: 60_000,
      neighboursRate: 15,
      neighboursMs: 60_000,
      neighboursBacklog: 500,
      neighboursFailingRate: 1,
      neighboursWarmMs: 15_000,
    },
  },
  quick: {
    durationS: 10,
    drainDownS: 15,
    numbers: {
      ramp: { startRate: 12, factor: 1.5, stepMs: 4_000, maxSteps: 8, refineSteps: 2, holdMs: 6_000 },
      fractions: [0.25, 0.5, 0.9],
      latencyMs: 6_000,
      latencyMaxEvents: 100_000,
      ceiling: { concurrency: 32, loopMs: 3_000, singleMs: 1_500 },
      drainWarmMs: 4_000,
      drainRecoveryMaxMs: 90_000,
      costEvents: 25,
      costXactCheck: false,
      settleMaxMs: 90_000,
      waiting: 1_000,
      idleMs: 30_000,
      neighboursRate: 15,
      neighboursMs: 30_000,
      neighboursBacklog: 500,
      neighboursFailingRate: 1,
      neighboursWarmMs: 10_000,
    },
  },
  smoke: {
    durationS: 1,
    drainDownS: 2,
    numbers: {
      ramp: { startRate: 10, factor: 1.5, stepMs: 1_000, maxSteps: 1, refineSteps: 0, holdMs: 0 },
      fractions: [0.25, 0.5, 0.9],
      latencyMs: 1_000,
      latencyMaxEvents: 4,
      ceiling: { concurrency: 4, loopMs: 300, singleMs: 200 },
      drainWarmMs: 0,
      drainRecoveryMaxMs: 10_000,
      costEvents: 3,
      costXactCheck: false,
      settleMaxMs: 20_000,
      waiting: 0,
      idleMs: 1_000,
      neighboursRate: 5,
      neighboursMs: 1_000,
      neighboursBacklog: 5,
      neighboursFailingRate: 1,
      neighboursWarmMs: 1_000,
    },
  },
};
