/** Small numeric helpers for the bench: percentiles, rates, rounding. */

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentiles of the values (milliseconds in practice), rounded to 0.1. */
export function percentiles(values: readonly number[]): Percentiles {
  if (!values.length) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => rankOf(sorted, p);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: round(rank(0.5), 1),
    p95: round(rank(0.95), 1),
    p99: round(rank(0.99), 1),
    max: round(sorted[sorted.length - 1]!, 1),
    mean: round(sum / sorted.length, 1),
  };
}

/** The nearest-rank quantile q of ascending values (the rule `percentiles` uses). */
function rankOf(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Resamples values with replacement, sorted, from a seeded generator (mulberry32), for the bootstraps below. */
function seededResampler(seed: number): (values: readonly number[]) => Float64Array {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (values) => {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(next() * values.length)]!;
    return out.sort();
  };
}

/** The central `level` of resampled figures, rounded to `digits`. */
function centralInterval(
  figures: number[],
  level: number,
  digits: number,
): { low: number; high: number } | null {
  if (!figures.length) return null;
  figures.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { low: round(rankOf(figures, tail), digits), high: round(rankOf(figures, 1 - tail), digits) };
}

/**
 * How far one run can trust a ratio of two samples' quantile q (x's over base's): both samples are resampled
 * with replacement `rounds` times, and the interval holds the central `level` of the resampled ratios
 * (a percentile bootstrap). A seeded generator makes it reproducible from the samples. Null when a sample
 * is empty.
 */
export function quantileRatioInterval(
  x: readonly number[],
  base: readonly number[],
  o: { q?: number; rounds?: number; level?: number; seed?: number } = {},
): { low: number; high: number } | null {
  const { q = 0.99, rounds = 1000, level = 0.9 } = o;
  if (!x.length || !base.length) return null;
  const resampled = seededResampler(o.seed ?? 1);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const b = rankOf(resampled(base), q);
    if (b > 0) ratios.push(rankOf(resampled(x), q) / b);
  }
  return centralInterval(ratios, level, 2);
}

/**
 * The same bootstrap for one sample's quantile q (milliseconds, rounded to 0.1): how far a p99 of a few
 * hundred requests can move by chance alone. Null when the sample is empty.
 */
export function quantileInterval(
  values: readonly number[],
  o: { q?: number; rounds?: number; level?: number; seed?: number } = {},
): { low: number; high: number } | null {
  const { q = 0.99, rounds = 1000, level = 0.9 } = o;
  if (!values.length) return null;
  const resampled = seededResampler(o.seed ?? 1);
  const figures: number[] = [];
  for (let r = 0; r < rounds; r++) figures.push(rankOf(resampled(values), q));
  return centralInterval(figures, level, 1);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** a / b rounded, or null when either is missing or b is zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 2): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return round(a / b, digits);
}

/** How many of the ascending `times` fall in [from, to). */
export function countBetween(times: readonly number[], from: number, to: number): number {
  return lowerBound(times, to) - lowerBound(times, from);
}

function lowerBound(times: readonly number[], value: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `done` every intervalMs until it is true or timeoutMs has passed; returns whether it became true. */
export async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
