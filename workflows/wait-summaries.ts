/**
 * The one-line summaries the Web UI shows on the workflows' timers and activities, so every wait says what
 * it waits for. Workflow code: pure, deterministic.
 *
 * They name the event type, the endpoint's host and id, attempt numbers and the failure's status code or
 * class; never a URL (postback URLs carry tokens in their path and query), an error message (it may quote
 * the receiver), a payload, a secret or an amount.
 */
import type { HoldView } from './definitions.js';

/** What an attempt ran into, from the fields the attempt log classifies it by. */
export interface FailureCause {
  statusCode?: number | null;
  errorClass?: string | null;
}

const CLASS_WORDS: Record<string, string> = {
  timeout: 'no answer within the timeout',
  connection: 'a connection error',
  dns: 'a host name that does not resolve',
  tls: 'a TLS error',
  ssrf_blocked: 'an address the SSRF guard refuses',
  invalid_url: 'an invalid URL',
  cancelled: 'a cancelled attempt',
};

/** `HTTP 503`, `no answer within the timeout`...; `a failed attempt` when nothing says more. */
export function failureCause(f: FailureCause): string {
  if (typeof f.statusCode === 'number') {
    return f.errorClass === 'success_mismatch'
      ? `HTTP ${f.statusCode} not matching successMatch`
      : `HTTP ${f.statusCode}`;
  }
  return (f.errorClass && CLASS_WORDS[f.errorClass]) ?? 'a failed attempt';
}

/** A delivery as its summaries name it. */
export interface SummarySubject {
  eventType: string;
  endpointHost: string;
  endpointId: string;
}

const target = (d: SummarySubject) => `${d.eventType} to ${d.endpointHost} (${d.endpointId})`;

/**
 * The timer before a delivery's next attempt, e.g.
 * `retry deliver customer.registered to hooks.example (ep_1) after HTTP 503, attempt 2 of 8`.
 *
 * @param next the attempt the timer leads to, counted in the current schedule (1 = its first)
 * @param cause what the last attempt ran into, or null when this run does not know it (a continued run)
 */
export function retryTimerSummary(
  d: SummarySubject,
  cause: FailureCause | null,
  next: number,
  max: number,
): string {
  const after = cause ? ` after ${failureCause(cause)}` : ' (continued from the previous run)';
  return `retry deliver ${target(d)}${after}, attempt ${next} of ${max}`;
}

/** The delivery's first attempt, a local activity. */
export function firstAttemptSummary(d: SummarySubject, max: number): string {
  return `deliver ${target(d)}, attempt 1 of ${max}`;
}

/** The second attempt, made locally because its wait was short (EventDeliveries.firstAttempt). */
export function quietRetrySummary(d: SummarySubject & { attemptCount: number }): string {
  return `deliver ${target(d)}, attempt ${d.attemptCount + 1}, soon after the first failed`;
}

/**
 * A server-side delivery activity. Temporal retries it on the delivery's schedule without the workflow
 * hearing of each attempt, so it names the schedule's length, not an attempt number the run may no longer
 * know (the pending activity shows the live one).
 */
export function deliveryActivitySummary(d: SummarySubject, max: number): string {
  return `deliver ${target(d)}, retried on its schedule of ${max} attempts`;
}

/** The local activity that ends a delivery in PostgreSQL. */
export function endSummary(d: SummarySubject, status: 'failed' | 'cancelled'): string {
  return `end deliver ${target(d)} as ${status}`;
}

/** The local activity that logs an attempt the delivery activity sent but could not log (it never sends). */
export function logSummary(d: SummarySubject): string {
  return `log the last attempt to deliver ${target(d)}`;
}

/** The settlement workflow's hold timer: what happens when it fires. */
export function holdTimerSummary(hold: HoldView, customerId: string): string {
  return (
    `hold of ${hold.commissionId} ends ${hold.holdUntil}: approve the commissions of customer ` +
    `${customerId} whose hold has ended`
  );
}
