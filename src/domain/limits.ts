/**
 * The bounds the API holds events and deals to, so that whatever it accepts can be settled: every
 * amount, product and date the commission engine derives fits `numeric(28, 8)` and `timestamptz`, and no
 * single event can stop its customer's settlement. Pure and workflow-safe.
 *
 * - Amounts (event money, NGR, deal amounts and thresholds) have at most {@link MAX_AMOUNT_DIGITS}
 *   integer digits and `lots` at most {@link MAX_LOTS_DIGITS}: a lot commission (lots x amount per lot)
 *   stays below 10^18, a month of RevShare NGR far below the column's 10^20.
 * - Hold periods and clawback windows are at most {@link MAX_DEAL_DURATION} (ten years).
 * - An event's `occurredAt` is no later than {@link EVENT_TIME_SKEW_MS} after its receipt (clocks differ;
 *   a future date is otherwise a typo, such as `9999-12-31`) and no earlier than
 *   {@link EVENT_TIME_FLOOR}. The floor is fixed rather than the operator's creation: operators import
 *   their players' history from before they joined.
 */
import { parseDuration } from './duration.js';

export const MAX_AMOUNT_DIGITS = 12;
export const MAX_LOTS_DIGITS = 6;
export const MAX_DEAL_DURATION = '3650d';
export const EVENT_TIME_SKEW_MS = 24 * 3_600_000;
export const EVENT_TIME_FLOOR = '2000-01-01T00:00:00Z';

/** Whether a decimal string has at most `digits` integer digits (sign and decimals aside). */
export function withinDigits(value: string, digits: number): boolean {
  const whole = /^-?(\d+)/.exec(value)?.[1];
  return whole !== undefined && whole.replace(/^0+(?=\d)/, '').length <= digits;
}

/** What is wrong with a deal duration's length, or null (the format is checked elsewhere). */
export function dealDurationProblem(duration: string): string | null {
  return parseDuration(duration) > parseDuration(MAX_DEAL_DURATION)
    ? `must be at most ${MAX_DEAL_DURATION}`
    : null;
}

/** What is wrong with an event time received at `receivedAt` (epoch ms), or null. */
export function eventTimeProblem(occurredAt: string, receivedAt: number): string | null {
  const t = Date.parse(occurredAt);
  if (Number.isNaN(t)) return 'must be an RFC 3339 date-time';
  if (t > receivedAt + EVENT_TIME_SKEW_MS)
    return `must not be more than ${EVENT_TIME_SKEW_MS / 3_600_000} h in the future`;
  if (t < Date.parse(EVENT_TIME_FLOOR)) return `must not be before ${EVENT_TIME_FLOOR}`;
  return null;
}
