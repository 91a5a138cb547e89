import type { ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { customerWorkflowId, eventWorkflowId } from '../src/domain/ids.js';
import { runLoad, type Shape } from './load.js';
import { perEvent, pgSnapshot, waitForStatsFlush, type PgPerEvent } from './pg-counts.js';
import { settle, type Ctx } from './phases.js';
import type { PhaseUse } from './resources.js';
import { round } from './stats.js';
import { costOf, type CostPerEvent } from './temporal-cost.js';

/**
 * Cost per event with k endpoints: a few events at a low rate on a quiet system, every delivery received and
 * every workflow completed, then Temporal work from their histories and PostgreSQL round trips from the
 * counters around them.
 */
export interface CostResult {
  endpoints: number;
  /** The events' affiliate has a deal: each event also wakes its customer's commission workflow. */
  deal: boolean;
  /** The receiver refused each delivery's first attempt (503) and accepted its retry. */
  failedFirst: boolean;
  events: number;
  delivered: number;
  temporal: CostPerEvent;
  postgres: PgPerEvent;
  /** Offered events/s. */
  rate: number;
  /** CPU of the processes from the first event sent to the last delivered, and per delivered event. */
  resources: PhaseUse;
  cpuMsPerEvent: Record<string, number>;
}

export async function productCost(
  ctx: Ctx,
  shape: Shape,
  operatorId: string,
  counted: Record<string, ChildProcess>,
  monitor: pg.Client | null,
  databaseName: string | null,
  events: number,
  variant: { deal?: boolean; failedFirst?: boolean } = {},
): Promise<CostResult> {
  const deal = variant.deal ?? false;
  const failedFirst = variant.failedFirst ?? false;
  const tag = `${deal ? '-deal' : ''}${failedFirst ? '-failfirst' : ''}`;
  const phase = `cost-${shape.expected}${tag}`;
  if (ctx.opts.costXactCheck) await waitForStatsFlush();
  const before = await pgSnapshot(counted, ctx.opts.costXactCheck ? monitor : null, databaseName);
  // Refused first attempts at 10/s would fail five attempts in a row before the first retry succeeds and
  // open the endpoint's breaker (BREAKER_FAILURE_THRESHOLD): 3/s keeps failures and successes interleaved.
  const rate = Math.min(failedFirst ? 3 : 10, events);
  const label =
    `cost: ${shape.expected} endpoint(s)${deal ? ', affiliate with a deal,' : ''}` +
    `${failedFirst ? ', first attempts refused,' : ''} at ${rate}/s`;
  ctx.sampler.begin(label);
  const idPrefix = `${ctx.runTag}-cost${shape.expected}${deal ? 'd' : ''}${failedFirst ? 'f' : ''}`;
  await runLoad(ctx.tracker, shape, idPrefix, {
    phase,
    rate,
    durationMs: 120_000,
    maxEvents: events,
    maxInFlight: 16,
    signal: ctx.signal,
  });
  await settle(ctx, [phase]);
  const resources = await ctx.sampler.end(label);
  const sent = ctx.tracker.ofPhase(phase);
  const delivered = sent.filter((e) => e.deliveredAt !== null).length;
  const cpuMsPerEvent: Record<string, number> = {};
  for (const [role, p] of Object.entries(resources.processes))
    cpuMsPerEvent[role] = round(p.cpuMs / Math.max(1, delivered), 2);
  // With a deal, each event's customer (one per bench event) has a commission workflow too: its cost is
  // the event's.
  const workflowIds = sent.map((e) => eventWorkflowId(operatorId, e.id));
  if (deal) workflowIds.push(...sent.map((e) => customerWorkflowId(operatorId, `cust-${e.id}`)));
  const temporal = await costOf(ctx.client, workflowIds, 60_000, sent.length);
  if (ctx.opts.costXactCheck) await waitForStatsFlush();
  const after = await pgSnapshot(counted, ctx.opts.costXactCheck ? monitor : null, databaseName);
  const result: CostResult = {
    endpoints: shape.expected,
    deal,
    failedFirst,
    events: sent.length,
    delivered,
    temporal,
    postgres: perEvent(before, after, sent.length),
    rate,
    resources,
    cpuMsPerEvent,
  };
  ctx.say(
    `  ${shape.expected} endpoint(s)${deal ? ' with a deal' : ''}${failedFirst ? ', first attempts refused' : ''}: ${temporal.perEvent.actions} Temporal actions, ${result.postgres.roundTripsPerEvent ?? 'n/a'} PostgreSQL round trips per event`,
  );
  return result;
}

/** Temporal work of a sample of a baseline's workflows (their ids are the event ids). */
export async function baselineCost(ctx: Ctx, phase: string, sample: number): Promise<CostPerEvent> {
  const ids = ctx.tracker
    .ofPhase(phase)
    .filter((e) => e.deliveredAt !== null)
    .slice(0, sample)
    .map((e) => e.id);
  return costOf(ctx.client, ids);
}
