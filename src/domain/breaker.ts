import { maxAttempts, type ResolvedRetryPolicy } from './retry-policy.js';

/**
 * The per-endpoint circuit breaker's rules, pure. An endpoint whose last `failureThreshold` attempts all
 * failed (from more than one delivery) opens: the next probe may go out `probeBaseMs` later, and each failed probe doubles the wait up to
 * `probeMaxMs`. One delivery at a time probes; the others wait without sending. A probe that succeeds
 * closes the breaker and wakes them. A breaker only withholds attempts: it never sends a delivery earlier
 * than its own schedule, and a wait for it spends no attempt.
 */
export interface BreakerSettings {
  /**
   * Failed attempts in a row (of any of the endpoint's deliveries) that open the breaker. A delivery
   * failing again counts only once another delivery has failed in between: a lone delivery never opens it.
   * 0: the breaker never opens.
   */
  failureThreshold: number;
  /** The wait before the first probe. */
  probeBaseMs: number;
  /** The longest wait between probes. */
  probeMaxMs: number;
  /**
   * How long a waiting delivery sleeps before it looks again by itself, should no probe wake it (its
   * schedule's end comes first when sooner).
   */
  recheckMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = Object.freeze({
  failureThreshold: 5,
  probeBaseMs: 30_000,
  probeMaxMs: 600_000,
  recheckMs: 3_600_000,
});

export type BreakerState = 'closed' | 'open' | 'half_open';

/** The wait before the next probe, once `probesFailed` probes have failed since the breaker opened. */
export function probeBackoffMs(s: BreakerSettings, probesFailed: number): number {
  let wait = s.probeBaseMs;
  for (let i = 0; i < probesFailed && wait < s.probeMaxMs; i++) wait *= 2;
  return Math.min(wait, s.probeMaxMs);
}

/**
 * The longest a policy's whole schedule can take, from its first attempt to its last: every wait at its
 * jittered maximum. A delivery still waiting for a breaker past this (from its schedule's start) ends.
 */
export function scheduleSpanMs(p: ResolvedRetryPolicy): number {
  let total = 0;
  for (let failed = 1; failed < maxAttempts(p); failed++) total += baseWaitMs(p, failed);
  return Math.round(total * (1 + p.jitter));
}

function baseWaitMs(p: ResolvedRetryPolicy, failedAttempt: number): number {
  if (p.kind === 'schedule') return p.waitsMs[failedAttempt - 1] ?? 0;
  const cap = p.maxIntervalMs ?? Number.POSITIVE_INFINITY;
  let wait = p.initialMs;
  for (let i = 1; i < failedAttempt && wait < cap; i++) wait *= p.coefficient;
  return Math.min(wait, cap);
}

/** What a delivery held by an open breaker does next, and for how long it waits. */
export function breakerWait(
  s: BreakerSettings,
  w: { designated: boolean; probeAt: Date | null; deadline: Date; now: Date },
): { end: true } | { end: false; waitMs: number } {
  const untilDeadline = w.deadline.getTime() - w.now.getTime();
  if (untilDeadline <= 0) return { end: true };
  // The delivery that probes next waits for the probe's time; the rest until woken, or their recheck.
  const untilProbe = w.probeAt ? w.probeAt.getTime() - w.now.getTime() : 0;
  const wait = w.designated ? Math.max(untilProbe, 100) : s.recheckMs;
  return { end: false, waitMs: Math.max(100, Math.min(wait, untilDeadline)) };
}
