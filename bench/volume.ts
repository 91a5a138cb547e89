/**
 * `npm run bench:volume [-- options]`: the commission engine at real volume (issue 12), on the whole system
 * the bench starts (Temporal dev server, throwaway database, API and worker processes).
 *
 * trades   One trader of an affiliate with a lot deal and a 30-day hold closes trades (`trade.closed`, in
 *          batches of 500) up to each checkpoint (`--trades 1000,5000,25000`). At each checkpoint, once all
 *          are settled: `--probes` single trades sent one at a time, each timed from acceptance to
 *          settlement (one settlement step with nothing else queued), the customer's stored state size,
 *          its pending commissions and the history length of its workflow's current run. Flat is the aim.
 * revenue  The nightly batch: `--customers` registered customers of `--affiliates` RevShare affiliates,
 *          then `--revenue` `revenue.daily` events for them (a day per customer per round) through
 *          `POST /v1/events/batch`: time until every one is settled and booked, events/s, Temporal actions
 *          and PostgreSQL round trips per event, peak memory of each process.
 *
 * Writes bench/results/volume-<timestamp>.json and .md and prints the Markdown.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { randomBase62 } from '../src/db/new-id.js';
import { customerWorkflowId, eventWorkflowId } from '../src/domain/ids.js';
import { Cleanup, runMain } from './cleanup.js';
import { perEvent, pgSnapshot, waitForStatsFlush } from './pg-counts.js';
import { ResourceSampler, type PhaseUse } from './resources.js';
import { percentiles, round } from './stats.js';
import { startSystem, type RunningSystem } from './system.js';
import { costOf, countHistory } from './temporal-cost.js';
import {
  createOperator,
  customerState,
  putAffiliate,
  sendAll,
  settledAfterMs,
  waitProcessed,
  waitSettled,
  type VolumeEvent,
} from './volume-load.js';
import { renderVolume, type RevenueResult, type TradeCheckpoint } from './volume-report.js';

const { values: args } = parseArgs({
  options: {
    trades: { type: 'string', default: '1000,5000,25000' },
    probes: { type: 'string', default: '20' },
    customers: { type: 'string', default: '20000' },
    affiliates: { type: 'string', default: '50' },
    revenue: { type: 'string', default: '100000' },
    skip: { type: 'string', default: '' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const say = (line: string) => console.log(`volume: ${line}`);
const skip = new Set(args.skip.split(',').filter(Boolean));
const cleanup = new Cleanup(say);

interface Ctx {
  sys: RunningSystem;
  db: pg.Pool;
  client: Client;
  sampler: ResourceSampler;
  monitor: pg.Client;
  tag: string;
}

await runMain('volume', cleanup, main);

async function main(): Promise<void> {
  const startedAt = new Date();
  const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-volume-'));
  cleanup.add('temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  const sys = await startSystem({ tmpDir: tmp, say }, cleanup);
  const db = new pg.Pool({ connectionString: sys.databaseUrl!, max: 4 });
  cleanup.add('bench pool', () => db.end());
  const monitorUrl = new URL(sys.databaseUrl!);
  monitorUrl.pathname = '/postgres';
  const monitor = new pg.Client({ connectionString: monitorUrl.toString() });
  await monitor.connect();
  cleanup.add('monitor', () => monitor.end());
  const connection = await Connection.connect({ address: sys.temporalAddress });
  cleanup.add('temporal client', () => connection.close());
  const client = new Client({ connection, namespace: sys.namespace });
  const sampler = new ResourceSampler(monitor, sys.databaseName);
  for (const [role, pid] of Object.entries(sys.pids)) sampler.track(role, pid);
  sampler.start();
  cleanup.add('sampler', () => sampler.stop());
  const ctx: Ctx = { sys, db, client, sampler, monitor, tag: `v${randomBase62(5)}` };

  const trades = skip.has('trades') ? null : await tradesPhase(ctx);
  const revenue = skip.has('revenue') ? null : await revenuePhase(ctx);

  const result = {
    startedAt: startedAt.toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    trades,
    revenue,
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  mkdirSync(args.out, { recursive: true });
  const md = renderVolume(result);
  writeFileSync(join(args.out, `volume-${stamp}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(args.out, `volume-${stamp}.md`), md);
  console.log(md);
}

async function tradesPhase(ctx: Ctx): Promise<TradeCheckpoint[]> {
  const { sys } = ctx;
  const checkpoints = args.trades
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
  const probes = Number(args.probes);
  const op = await createOperator(sys.apiUrl, sys.adminToken, `volume trades ${ctx.tag}`);
  await putAffiliate(sys.apiUrl, op.apiKey, 'aff-lot', {
    model: 'lot',
    amountPerLot: '2.50',
    currency: 'USD',
    holdPeriod: '30d',
    clawbackWindow: '60d',
  });
  const customerId = 'trader-1';
  let seq = 0;
  const trade = (): VolumeEvent => {
    seq++;
    return {
      id: `trade-${seq}`,
      type: 'trade.closed',
      occurredAt: new Date().toISOString(),
      customerId,
      data: { tradeId: `t-${seq}`, accountId: 'acc-1', instrument: 'EURUSD', lots: '0.10' },
    };
  };
  await sendAll(sys.apiUrl, op.apiKey, [
    {
      id: 'reg-1',
      type: 'customer.registered',
      occurredAt: new Date().toISOString(),
      customerId,
      attribution: { affiliateId: 'aff-lot' },
      data: { country: 'CY' },
    },
  ]);
  await waitSettled(ctx.db, op.id, ['customer.registered'], 1, 60_000, say);

  const out: TradeCheckpoint[] = [];
  for (const target of checkpoints) {
    const toSend = target - seq;
    const t0 = performance.now();
    if (toSend > 0) {
      say(`trades: sending ${toSend} to reach ${target}`);
      await sendAll(
        sys.apiUrl,
        op.apiKey,
        (function* () {
          for (let i = 0; i < toSend; i++) yield trade();
        })(),
      );
    }
    await waitSettled(ctx.db, op.id, ['trade.closed'], seq, 3_600_000, say);
    const fillSeconds = (performance.now() - t0) / 1000;
    await waitProcessed(ctx.db, op.id, 3_600_000);
    await ctx.sampler.waitForQuiet(60_000);
    const probeMs: number[] = [];
    for (let i = 0; i < probes; i++) {
      const event = trade();
      await sendAll(sys.apiUrl, op.apiKey, [event], 1);
      await waitSettled(ctx.db, op.id, ['trade.closed'], seq, 120_000, say);
      const ms = await settledAfterMs(ctx.db, op.id, event.id);
      if (ms !== null) probeMs.push(ms);
    }
    const state = await customerState(ctx.db, op.id, customerId);
    const history = await countHistory(ctx.client, customerWorkflowId(op.id, customerId)).catch(() => null);
    const checkpoint: TradeCheckpoint = {
      trades: seq,
      fillSeconds: round(fillSeconds, 1),
      fillEventsPerSecond: toSend > 0 ? round(toSend / fillSeconds, 1) : null,
      probe: percentiles(probeMs),
      ...state,
      historyEvents: history?.historyEvents ?? null,
    };
    say(`trades: ${JSON.stringify(checkpoint)}`);
    out.push(checkpoint);
  }
  return out;
}

async function revenuePhase(ctx: Ctx): Promise<RevenueResult> {
  const { sys } = ctx;
  const customers = Number(args.customers);
  const affiliates = Number(args.affiliates);
  const revenue = Number(args.revenue);
  const op = await createOperator(sys.apiUrl, sys.adminToken, `volume revenue ${ctx.tag}`);
  for (let a = 0; a < affiliates; a++)
    await putAffiliate(sys.apiUrl, op.apiKey, `aff-rs-${a}`, {
      model: 'revshare',
      percent: '25',
      negativeCarryover: true,
      holdPeriod: '30d',
      clawbackWindow: '60d',
    });
  say(`revenue: registering ${customers} customers of ${affiliates} affiliates`);
  const r0 = performance.now();
  await sendAll(
    sys.apiUrl,
    op.apiKey,
    (function* () {
      for (let c = 0; c < customers; c++)
        yield {
          id: `reg-${c}`,
          type: 'customer.registered',
          occurredAt: new Date().toISOString(),
          customerId: `player-${c}`,
          attribution: { affiliateId: `aff-rs-${c % affiliates}` },
          data: { country: 'MT' },
        };
    })(),
  );
  await waitSettled(ctx.db, op.id, ['customer.registered'], customers, 3_600_000, say);
  const registrationSeconds = (performance.now() - r0) / 1000;
  await ctx.sampler.waitForQuiet(60_000);
  await waitForStatsFlush();

  const today = Date.now();
  const revenueEvent = (i: number): VolumeEvent => {
    const c = i % customers;
    const day = new Date(today - Math.floor(i / customers) * 86_400_000).toISOString().slice(0, 10);
    const ngr = `${10 + (i % 90)}.${String(i % 100).padStart(2, '0')}`;
    return {
      id: `rev-${i}`,
      type: 'revenue.daily',
      occurredAt: new Date().toISOString(),
      customerId: `player-${c}`,
      data: { date: day, ggr: ngr, bonuses: '0.00', fees: '0.00', ngr, currency: 'EUR' },
    };
  };
  const before = await pgSnapshot(sys.counted, ctx.monitor, sys.databaseName);
  ctx.sampler.begin('revenue');
  const t0 = performance.now();
  say(`revenue: sending ${revenue} revenue.daily`);
  await sendAll(
    sys.apiUrl,
    op.apiKey,
    (function* () {
      for (let i = 0; i < revenue; i++) yield revenueEvent(i);
    })(),
  );
  const intakeSeconds = (performance.now() - t0) / 1000;
  await waitSettled(ctx.db, op.id, ['revenue.daily'], revenue, 6 * 3_600_000, say);
  const bookedSeconds = (performance.now() - t0) / 1000;
  const use: PhaseUse = await ctx.sampler.end('revenue');
  await waitForStatsFlush();
  const after = await pgSnapshot(sys.counted, ctx.monitor, sys.databaseName);
  const { rows } = await ctx.db.query<{ n: string; total: string | null }>(
    `SELECT count(*)::text AS n, sum(amount)::text AS total FROM commission_entries
      WHERE operator_id = $1 AND kind = 'accrual'`,
    [op.id],
  );
  const cost = await temporalCost(ctx, op.id, customers, revenue);
  return {
    customers,
    affiliates,
    events: revenue,
    registrationSeconds: round(registrationSeconds, 1),
    intakeSeconds: round(intakeSeconds, 1),
    intakeEventsPerSecond: round(revenue / intakeSeconds, 1),
    bookedSeconds: round(bookedSeconds, 1),
    bookedEventsPerSecond: round(revenue / bookedSeconds, 1),
    accruals: Number(rows[0]!.n),
    accruedTotal: rows[0]!.total,
    temporal: cost,
    postgres: perEvent(before, after, revenue),
    processes: use.processes,
  };
}

/**
 * Temporal work per revenue event, from a sample: the event workflows of the sampled customers' revenue
 * events plus those customers' settlement workflow runs, divided by the sampled events. A settlement run
 * that continued as new before the count is under-counted; the report says how many runs were sampled.
 */
async function temporalCost(ctx: Ctx, operatorId: string, customers: number, revenue: number) {
  const sampled = Math.min(50, customers);
  const rounds = Math.ceil(revenue / customers);
  const eventIds: string[] = [];
  for (let c = 0; c < sampled; c++)
    for (let r = 0; r < rounds; r++) {
      const i = r * customers + c;
      if (i < revenue) eventIds.push(eventWorkflowId(operatorId, `rev-${i}`));
    }
  const events = await costOf(ctx.client, eventIds, 120_000);
  let settlementActions = 0;
  for (let c = 0; c < sampled; c++) {
    const h = await countHistory(ctx.client, customerWorkflowId(operatorId, `player-${c}`)).catch(() => null);
    if (h)
      settlementActions +=
        h.starts + h.activityAttempts + h.localActivities + h.timers + h.signals + h.upserts;
  }
  return {
    sampledEvents: eventIds.length,
    eventWorkflowActionsPerEvent: events.perEvent.actions,
    settlementActionsPerEvent: round(settlementActions / eventIds.length, 2),
    actionsPerEvent: round(events.perEvent.actions + settlementActions / eventIds.length, 2),
  };
}
