import type { HttpOutcome } from '../../src/delivery/http.js';
import { honoursRetryAfter } from '../../src/domain/delivery-outcome.js';
import type { PostbackVerdict } from '../../src/domain/postback/success.js';
import { nextDelayMs, parseRetryAfter, type ResolvedRetryPolicy } from '../../src/domain/retry-policy.js';
import type { AttemptLine, Decision } from './types.js';

/**
 * What one attempt means for its delivery, and its line in the log. Pure, and it cannot throw on any
 * answer: once a request went out, its outcome is data.
 *
 * A response's status line decides (a 2xx is accepted whatever its body did); no response is a failure
 * the policy retries; an attempt aborted because the delivery was cancelled ends it `cancelled`.
 */
export function judge(
  a: {
    number: number;
    scheduleAttempt: number;
    policy: ResolvedRetryPolicy;
    note: string | null;
    startedAt: Date;
    random: number;
  },
  outcome: HttpOutcome,
  readVerdict: (o: HttpOutcome) => PostbackVerdict,
): Decision {
  const verdict: Decision['verdict'] =
    outcome.errorClass === 'cancelled' ? 'cancelled' : safeVerdict(outcome, readVerdict);
  const { error, errorClass } = attemptError(outcome, verdict);
  const notes = [a.note, outcome.bodyNote].filter((n): n is string => n !== null).join('; ') || null;
  const line: AttemptLine = {
    number: a.number,
    startedAt: a.startedAt.toISOString(),
    durationMs: outcome.durationMs,
    statusCode: outcome.statusCode,
    // Notes (macros sent empty, a body cut) are logged without failing the attempt.
    errorClass: errorClass ?? (notes ? 'note' : null),
    errorMessage: notes ? (error ? `${error}; ${notes}` : notes) : error,
    responseBody: outcome.body,
    responseBytes: outcome.statusCode === null ? null : outcome.bodyBytes,
    responseContentType: outcome.contentType,
  };
  const base = { verdict, error, statusCode: outcome.statusCode, line };
  if (verdict === 'success') return { ...base, status: 'succeeded', delayMs: null, nextAttemptAt: null };
  if (verdict === 'cancelled' || verdict === 'gone' || verdict === 'rejected') {
    return {
      ...base,
      status: verdict === 'cancelled' ? 'cancelled' : 'failed',
      delayMs: null,
      nextAttemptAt: null,
    };
  }
  const retryAfterMs = honoursRetryAfter(outcome.statusCode)
    ? parseRetryAfter(outcome.retryAfter, a.startedAt)
    : null;
  const delayMs = nextDelayMs(a.policy, a.scheduleAttempt, a.random, retryAfterMs);
  if (delayMs === null) return { ...base, status: 'failed', delayMs: null, nextAttemptAt: null };
  const nextAttemptAt = new Date(a.startedAt.getTime() + outcome.durationMs + delayMs).toISOString();
  return { ...base, status: 'retrying', delayMs, nextAttemptAt };
}

/** A matcher that throws reads as a failed match: never an error after the send. */
function safeVerdict(outcome: HttpOutcome, read: (o: HttpOutcome) => PostbackVerdict): PostbackVerdict {
  if (outcome.errorClass) return 'retry';
  try {
    return read(outcome);
  } catch {
    return 'retry';
  }
}

/** What the attempt log says went wrong, or nulls for a success. */
function attemptError(
  result: HttpOutcome,
  verdict: Decision['verdict'],
): { error: string | null; errorClass: string | null } {
  if (result.errorClass) return { error: result.errorMessage, errorClass: result.errorClass };
  if (verdict === 'success') return { error: null, errorClass: null };
  const status = `HTTP ${result.statusCode}`;
  if (verdict === 'retry' && result.statusCode !== null && result.statusCode < 300) {
    // Only a postback's successMatch makes a 2xx fail.
    return {
      error: `${status}: the response body does not match successMatch`,
      errorClass: 'success_mismatch',
    };
  }
  if (verdict === 'gone') return { error: `${status} Gone`, errorClass: 'http_status' };
  if (verdict === 'rejected') {
    return { error: `${status}: refused by the tracker, not retried`, errorClass: 'http_status' };
  }
  return { error: status, errorClass: 'http_status' };
}
