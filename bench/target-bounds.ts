import type { RunResult } from './phases.js';
import type { PhaseUse } from './resources.js';

/**
 * What the same run allows a target to reach on this machine, whatever the product's own code did.
 *
 * The best shape (eager start, one local activity that POSTs) is the engine's floor: it keeps nothing
 * durable of its own. The product must write each event to PostgreSQL before its 202 (the outbox that keeps
 * an accepted event from being lost), and on this machine PostgreSQL shares the cores with everything else.
 * So even a product whose API cost nothing beyond the best shape's process would spend the best shape's CPU
 * plus its own PostgreSQL CPU per event, and, throughput following CPU on a full machine, deliver at most
 * best / (best + PostgreSQL) of the best shape's rate. The naive shape's target is a multiple of a
 * different baseline; put in terms of the best shape it says how far above the floor it asks the product to
 * run. The accept target is set beside the best shape's own start latency at the same share of its own
 * saturation: the floor's answer time, with no record to write.
 */
export interface TargetBounds {
  /** The product's PostgreSQL CPU per delivered event, and the best shape's whole CPU, at half saturation. */
  postgresMs: number | null;
  bestMs: number | null;
  /** At most this share of the best shape's events/s, if PostgreSQL were the product's only extra work. */
  throughputCeiling: number | null;
  /** At least this CPU per event against the best shape's, for the same reason. */
  cpuFloor: number | null;
  /** The naive target (2x the naive shape's events/s) as a multiple of the best shape's. */
  naiveTargetInBest: number | null;
  /** The best shape's own accept p99 at each fraction of its saturation. */
  bestAcceptP99: Record<string, number | null>;
  /**
   * How busy the machine was (every process sampled, % of all its cores) while the best shape ran at its
   * saturation: the ceiling above assumes throughput follows CPU, which holds only on a full machine.
   */
  bestSaturationBusy: number | null;
}

type Latency = Pick<RunResult, 'fraction' | 'label' | 'cpuMsPerEvent' | 'acceptMs'>;

const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;

export function targetBounds(input: {
  product: Latency[];
  best: Latency[];
  bestPerSec: number | null;
  naivePerSec: number | null;
  bestSaturationUse: PhaseUse | null;
  cores: number;
}): TargetBounds {
  const half = (runs: Latency[]) => runs.find((r) => r.fraction === 0.5)?.cpuMsPerEvent ?? null;
  const p = half(input.product);
  const b = half(input.best);
  const postgresMs = p?.postgres ?? null;
  const bestMs =
    b && b.baseline !== undefined && b.temporal !== undefined ? round(b.baseline + b.temporal, 2) : null;
  const both = postgresMs !== null && bestMs !== null && bestMs > 0;
  const bestAcceptP99: Record<string, number | null> = {};
  for (const run of input.best) bestAcceptP99[run.label] = run.acceptMs.p99;
  return {
    postgresMs,
    bestMs,
    throughputCeiling: both ? round(bestMs / (bestMs + postgresMs), 3) : null,
    cpuFloor: both ? round((bestMs + postgresMs) / bestMs, 2) : null,
    naiveTargetInBest:
      input.naivePerSec !== null && input.bestPerSec
        ? round((2 * input.naivePerSec) / input.bestPerSec, 2)
        : null,
    bestAcceptP99,
    bestSaturationBusy: input.bestSaturationUse
      ? round(
          Object.values(input.bestSaturationUse.processes).reduce((a, u) => a + u.cpuPercent, 0) /
            input.cores,
          0,
        )
      : null,
  };
}
