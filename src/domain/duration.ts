/**
 * The contract's duration strings: a whole number followed by one unit, `ms`, `s`, `m`, `h` or `d`
 * (`"500ms"`, `"5s"`, `"30m"`, `"2h"`, `"3d"`). No spaces, signs, fractions or compound forms.
 */

/** A duration string. No `g` or `y` flag, so `test()` keeps no state between calls. */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Largest first: `formatDuration` picks the first unit that divides exactly. */
const UNITS_DESCENDING: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

const EXPECTED = 'a whole number followed by ms, s, m, h or d, such as "500ms", "5s", "30m", "2h" or "3d"';

/**
 * Converts a duration string to milliseconds.
 *
 * @throws Error when the text is not a duration, or is too large to count in whole milliseconds exactly.
 */
export function parseDuration(text: string): number {
  const match = typeof text === 'string' ? DURATION_PATTERN.exec(text) : null;
  if (!match) throw new Error(`Invalid duration ${JSON.stringify(text)}: expected ${EXPECTED}`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  if (!Number.isSafeInteger(ms)) throw new Error(`Invalid duration ${JSON.stringify(text)}: too large`);
  return ms;
}

/** Whether `parseDuration` accepts the text. */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes milliseconds in the largest unit that divides them exactly; zero is `"0s"`.
 *
 * `parseDuration(formatDuration(ms)) === ms` always holds; the other way round is not guaranteed
 * (`"60s"` comes back as `"1m"`).
 *
 * @throws RangeError unless ms is a non-negative safe integer.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`Cannot format ${ms} as a duration: expected a whole, non-negative number of ms`);
  }
  if (ms === 0) return '0s';
  for (const unit of UNITS_DESCENDING) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`; // unreachable: every integer is a whole number of ms
}
