import { isDuration, parseDuration } from './duration.js';

/**
 * An endpoint's retry policy, as the public contract spells it, and the arithmetic the delivery workflow
 * runs on it. Pure and deterministic: randomness and the current time come in as arguments, so workflow
 * code can pass its replay-safe `Math.random()` and `new Date()`.
 *
 * Attempts are counted from 1 and include the first one. "Failed attempt n" is the n-th attempt, which
 * failed; the wait after it precedes attempt n + 1.
 */

/** Explicit waits: `schedule[i]` is the wait after failed attempt i + 1, so N waits allow N + 1 attempts. */
export interface ScheduleRetryPolicy {
  schedule: string[];
  /** Fraction of each wait added or removed at random; 0 disables. Defaults to 0.2. */
  jitter?: number;
}

/** Exponential waits: initialInterval, then times backoffCoefficient per attempt, capped at maximumInterval. */
export interface ExponentialRetryPolicy {
  initialInterval: string;
  backoffCoefficient: number;
  maximumInterval?: string;
  /** Every attempt, the first included. */
  maximumAttempts: number;
  /** Fraction of each wait added or removed at random; 0 disables. Defaults to 0.2. */
  jitter?: number;
}

export type RetryPolicy = ScheduleRetryPolicy | ExponentialRetryPolicy;

/** Plain JSON, with every default filled in: what a workflow receives as its input. */
export type ResolvedRetryPolicy =
  | {
      kind: 'schedule';
      /** `waitsMs[i]` is the wait after failed attempt i + 1. */
      waitsMs: number[];
      jitter: number;
      /** `waitsMs.length + 1`. */
      maxAttempts: number;
    }
  | {
      kind: 'exponential';
      initialMs: number;
      coefficient: number;
      /** null when the policy sets no maximumInterval. */
      maxIntervalMs: number | null;
      jitter: number;
      maxAttempts: number;
    };

export const DEFAULT_JITTER = 0.2;

/** 5s, 5m, 30m, 2h, 5h, 10h, 10h with ±20% jitter: 8 attempts, the waits summing to 27 h 35 min 5 s. */
export const DEFAULT_RETRY_POLICY: ScheduleRetryPolicy = Object.freeze({
  schedule: Object.freeze(['5s', '5m', '30m', '2h', '5h', '10h', '10h']) as string[],
  jitter: DEFAULT_JITTER,
});

export const MAX_SCHEDULE_WAITS = 50;
export const MAX_WAIT_MS = 7 * 86_400_000;
export const MAX_ATTEMPTS_LIMIT = 100;

const EXPONENTIAL_KEYS = ['initialInterval', 'backoffCoefficient', 'maximumInterval', 'maximumAttempts'];

/**
 * Lists what is wrong with a policy, in words fit for an API error; empty when it is usable.
 *
 * Checks the runtime shape as well as the types, so it can be given parsed JSON.
 */
export function validateRetryPolicy(p: RetryPolicy): string[] {
  if (typeof p !== 'object' || p === null) return ['retryPolicy must be an object'];
  const problems: string[] = [];
  const hasSchedule = 'schedule' in p && p.schedule !== undefined;
  const fields = p as unknown as Record<string, unknown>;
  const exponentialKeys = EXPONENTIAL_KEYS.filter((k) => fields[k] !== undefined);

  const jitter = p.jitter;
  if (jitter !== undefined && !(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) {
    problems.push(`jitter must be a number from 0 to 1, got ${JSON.stringify(jitter)}`);
  }

  if (hasSchedule) {
    if (exponentialKeys.length > 0) {
      problems.push(`use either schedule or ${exponentialKeys.join(', ')}, not both`);
    }
    problems.push(...scheduleProblems((p as ScheduleRetryPolicy).schedule));
  } else if (exponentialKeys.length > 0) {
    problems.push(...exponentialProblems(p as ExponentialRetryPolicy));
  } else {
    problems.push(
      'retryPolicy needs either schedule or initialInterval, backoffCoefficient and maximumAttempts',
    );
  }
  return problems;
}

function scheduleProblems(schedule: unknown): string[] {
  if (!Array.isArray(schedule)) return ['schedule must be a list of durations such as ["5s", "5m"]'];
  if (schedule.length === 0) return ['schedule must list at least one wait'];
  const problems: string[] = [];
  if (schedule.length > MAX_SCHEDULE_WAITS) {
    problems.push(`schedule has ${schedule.length} waits; at most ${MAX_SCHEDULE_WAITS} are allowed`);
  }
  schedule.forEach((wait: unknown, i) => {
    const problem = waitProblem(`schedule[${i}]`, wait);
    if (problem) problems.push(problem);
  });
  return problems;
}

function exponentialProblems(p: ExponentialRetryPolicy): string[] {
  const problems: string[] = [];
  const initial = waitProblem('initialInterval', p.initialInterval);
  if (initial) problems.push(initial);
  else if (parseDuration(p.initialInterval) === 0) problems.push('initialInterval must be longer than 0');

  if (p.maximumInterval !== undefined) {
    const maximum = waitProblem('maximumInterval', p.maximumInterval);
    if (maximum) problems.push(maximum);
    if (!initial && !maximum && parseDuration(p.maximumInterval) < parseDuration(p.initialInterval)) {
      problems.push(
        `maximumInterval ${p.maximumInterval} is shorter than initialInterval ${p.initialInterval}`,
      );
    }
  }

  const c = p.backoffCoefficient;
  const coefficientOk = typeof c === 'number' && Number.isFinite(c) && c >= 1;
  if (!coefficientOk) {
    problems.push(`backoffCoefficient must be a number of at least 1, got ${JSON.stringify(c)}`);
  }

  const n = p.maximumAttempts;
  const attemptsOk = Number.isInteger(n) && n >= 1 && n <= MAX_ATTEMPTS_LIMIT;
  if (!attemptsOk) {
    problems.push(
      `maximumAttempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${JSON.stringify(n)}`,
    );
  }

  // Without a maximumInterval the waits grow unbounded: the longest one must still respect the limit.
  if (problems.length === 0 && p.maximumInterval === undefined && n >= 2) {
    const longest = exponentialBaseMs(parseDuration(p.initialInterval), c, null, n - 1);
    if (longest > MAX_WAIT_MS) {
      problems.push(
        `the wait after attempt ${n - 1} would exceed 7 days; set maximumInterval or lower maximumAttempts`,
      );
    }
  }
  return problems;
}

function waitProblem(path: string, wait: unknown): string | null {
  if (wait === undefined) return `${path} is required`;
  if (typeof wait !== 'string' || !isDuration(wait)) {
    return `${path}: ${JSON.stringify(wait)} is not a duration such as "500ms", "5s", "30m", "2h" or "3d"`;
  }
  if (parseDuration(wait) > MAX_WAIT_MS) return `${path}: ${wait} is longer than the 7-day limit`;
  return null;
}

/**
 * Fills in the defaults and converts durations to milliseconds; null or undefined means the default policy.
 *
 * @throws Error listing the problems when `validateRetryPolicy` finds any: validate at the API edge first.
 */
export function resolveRetryPolicy(p: RetryPolicy | null | undefined): ResolvedRetryPolicy {
  const policy = p ?? DEFAULT_RETRY_POLICY;
  const problems = validateRetryPolicy(policy);
  if (problems.length > 0) throw new Error(`Invalid retry policy: ${problems.join('; ')}`);
  const jitter = policy.jitter ?? DEFAULT_JITTER;
  if ('schedule' in policy && policy.schedule !== undefined) {
    const waitsMs = policy.schedule.map(parseDuration);
    return { kind: 'schedule', waitsMs, jitter, maxAttempts: waitsMs.length + 1 };
  }
  const exp = policy as ExponentialRetryPolicy;
  return {
    kind: 'exponential',
    initialMs: parseDuration(exp.initialInterval),
    coefficient: exp.backoffCoefficient,
    maxIntervalMs: exp.maximumInterval === undefined ? null : parseDuration(exp.maximumInterval),
    jitter,
    maxAttempts: exp.maximumAttempts,
  };
}

/** Every attempt the policy allows, the first included. */
export function maxAttempts(p: ResolvedRetryPolicy): number {
  return p.maxAttempts;
}

/**
 * initial × coefficient^(failedAttempt − 1), capped, rounded to whole ms. Repeated multiplication rather
 * than `**`: each IEEE multiplication is exactly rounded, so a replay on another V8 gets the same number.
 */
function exponentialBaseMs(
  initialMs: number,
  coefficient: number,
  capMs: number | null,
  failedAttempt: number,
) {
  const cap = capMs ?? Number.POSITIVE_INFINITY;
  let wait = initialMs;
  for (let i = 1; i < failedAttempt && wait < cap; i++) wait *= coefficient;
  return Math.round(Math.min(wait, cap));
}

/** The un-jittered wait after a failed attempt, or null when it was the last one allowed. */
function baseDelayMs(p: ResolvedRetryPolicy, failedAttempt: number): number | null {
  if (!Number.isInteger(failedAttempt) || failedAttempt < 1) {
    throw new RangeError(`failedAttempt must be a whole number from 1, got ${failedAttempt}`);
  }
  if (failedAttempt >= p.maxAttempts) return null;
  if (p.kind === 'schedule') return p.waitsMs[failedAttempt - 1] ?? null;
  return exponentialBaseMs(p.initialMs, p.coefficient, p.maxIntervalMs, failedAttempt);
}

/**
 * The wait after failed attempt `failedAttempt` (1-based), jittered; null when the policy is exhausted.
 *
 * @param random uniform in [0, 1): 0 gives the shortest wait, base × (1 − jitter); values near 1 the longest.
 * @throws RangeError on a failedAttempt below 1 or a random outside [0, 1).
 */
export function scheduledDelayMs(
  p: ResolvedRetryPolicy,
  failedAttempt: number,
  random: number,
): number | null {
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0, 1), got ${random}`);
  const base = baseDelayMs(p, failedAttempt);
  if (base === null) return null;
  return Math.round(base * (1 + p.jitter * (2 * random - 1)));
}

const DAY_NAMES = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY_NAMES = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(
  `^${DAY_NAMES},\\s+(\\d{1,2})\\s+${MONTH}\\s+(\\d{4})\\s+${TIME}\\s+GMT$`,
  'i',
);
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC_850 = new RegExp(`^${LONG_DAY_NAMES},\\s+(\\d{2})-${MONTH}-(\\d{2})\\s+${TIME}\\s+GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994`, which HTTP defines as GMT. */
const ASCTIME = new RegExp(`^${DAY_NAMES}\\s+${MONTH}\\s+(\\d{1,2})\\s+${TIME}\\s+(\\d{4})$`, 'i');
/**
 * Other dates left to `Date.parse` (such as `+0000` for `GMT`) must name their zone: a zoneless date would
 * be read in the host's time zone, and workers in different zones would disagree.
 */
const ZONED_LOOSE_DATE = new RegExp(`${MONTH}.*\\d{4}.*${TIME}\\s*(?:gmt|utc|z|[+-]\\d{2}:?\\d{2})$`, 'i');

function utcMs(year: number, month: string, day: number, hh: number, mm: number, ss: number): number | null {
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  const ms = Date.UTC(year, monthIndex, day, hh, mm, ss);
  const d = new Date(ms);
  // Date.UTC rolls 31 Feb over to March and 25:00 to the next day: refuse instead.
  const exact =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === monthIndex &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hh &&
    d.getUTCMinutes() === mm &&
    d.getUTCSeconds() === ss;
  return exact ? ms : null;
}

function parseHttpDate(text: string, now: Date): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utcMs(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC_850.exec(text);
  if (m) {
    // RFC 7231 §7.1.1.1: a two-digit year more than 50 years ahead is the latest past year ending so.
    const thisYear = now.getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utcMs(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(text);
  if (m) return utcMs(Number(m[6]), m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  if (ZONED_LOOSE_DATE.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/**
 * Reads a Retry-After header as a delay in milliseconds from `now`; null when absent or unreadable.
 *
 * Accepts delay-seconds and the three HTTP-date forms, plus other dates `Date.parse` reads as long as they
 * name their time zone. A negative delay or a date in the past gives 0. Fractional seconds are unreadable.
 *
 * @throws RangeError when `now` is an invalid Date.
 */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | null {
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new RangeError('now is an invalid Date');
  if (typeof header !== 'string') return null;
  const text = header.trim();
  if (/^-?\d+$/.test(text)) return Math.min(Math.max(0, Number(text) * 1000), Number.MAX_SAFE_INTEGER);
  const at = parseHttpDate(text, now);
  return at === null ? null : Math.max(0, at - nowMs);
}

/** Bounds a Retry-After delay to [scheduledMs, 2 × scheduledMs]; NaN counts as no opinion. */
export function clampRetryAfter(retryAfterMs: number, scheduledMs: number): number {
  if (Number.isNaN(retryAfterMs)) return scheduledMs;
  return Math.min(Math.max(retryAfterMs, scheduledMs), 2 * scheduledMs);
}

/**
 * The wait before the next attempt, honouring Retry-After within bounds; null when the policy is exhausted.
 *
 * The bounds are the jittered wait and twice it. Retry-After never grants or costs an attempt. Pass
 * retryAfterMs only for the statuses that honour it (429 and 503), else null.
 *
 * @throws RangeError as `scheduledDelayMs` does.
 */
export function nextDelayMs(
  p: ResolvedRetryPolicy,
  failedAttempt: number,
  random: number,
  retryAfterMs: number | null,
): number | null {
  const scheduled = scheduledDelayMs(p, failedAttempt, random);
  if (scheduled === null || retryAfterMs === null) return scheduled;
  return clampRetryAfter(retryAfterMs, scheduled);
}

/**
 * The sum of every un-jittered wait the policy can impose.
 *
 * Not a bound on the real span: jitter can stretch each wait by (1 + jitter), Retry-After can double it,
 * and the attempts themselves take time. `totalSpanMs × 2 × (1 + jitter)` plus the attempts is one.
 */
export function totalSpanMs(p: ResolvedRetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < p.maxAttempts; attempt++) total += baseDelayMs(p, attempt) ?? 0;
  return total;
}
