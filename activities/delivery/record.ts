import { setTimeout as sleep } from 'node:timers/promises';
import { recordAttempt, type BreakerChange } from '../../src/db/attempt-record.js';
import type { DeliveryStatus } from '../../src/db/deliveries.js';
import { DEFAULT_BREAKER } from '../../src/domain/breaker.js';
import type { SentRequest } from '../../src/delivery/sent-request.js';
import { deliveryAttempts, statusClass } from '../../src/metrics.js';
import type { AttemptSubject, Decision, DeliverDeps } from './types.js';

export interface Recorded {
  failingSince: Date | null;
  /** The delivery's status after the write (a delivery cancelled meanwhile keeps `cancelled`). */
  status: DeliveryStatus;
  replacedByEventId: string | null;
  /** How the attempt moved its endpoint's breaker, if it did. */
  breakerChange: BreakerChange;
  /** The next probe's earliest time, when the breaker is open after this attempt. */
  breakerProbeAt: Date | null;
}

/** Pauses between tries to log an attempt in-process: about 5 s in all, then the workflow takes over. */
const RECORD_BACKOFF_MS = [100, 300, 600, 1_000, 1_500, 2_000];

/**
 * Logs an attempt that went out, retrying in-process while PostgreSQL is briefly away. Never throws: null
 * means it could not be written, and the caller hands the attempt to the workflow as data, because an
 * activity error here would make Temporal send the request again.
 */
export async function recordWithRetry(
  deps: DeliverDeps,
  subject: AttemptSubject,
  decision: Decision,
  request: SentRequest | null = null,
): Promise<Recorded | null> {
  for (let i = 0; ; i++) {
    try {
      return await writeAttempt(deps, subject, decision, request);
    } catch (err) {
      deps.logger?.warn(
        { deliveryId: subject.deliveryId, attempt: decision.line.number, err: (err as Error).message },
        'attempt not logged yet',
      );
      const pause = RECORD_BACKOFF_MS[i];
      if (pause === undefined) return null;
      await sleep(pause);
    }
  }
}

/**
 * Logs an attempt and moves the delivery on (one statement); throws when PostgreSQL refuses. The request
 * as sent is kept only here, in the activity: an attempt the workflow logs later (PostgreSQL was away)
 * goes without it, so it never enters the workflow's history.
 */
export function writeAttempt(
  deps: DeliverDeps,
  subject: AttemptSubject,
  decision: Decision,
  request: SentRequest | null = null,
): Promise<Recorded> {
  const { line } = decision;
  return recordAttempt(
    deps.pool,
    subject.deliveryId,
    subject.endpointId,
    {
      ...line,
      startedAt: new Date(line.startedAt),
      status: decision.status === 'retrying' ? 'retrying' : decision.status,
      nextAttemptAt: decision.nextAttemptAt ? new Date(decision.nextAttemptAt) : null,
      breakerEffect: breakerEffect(decision.verdict),
      request,
    },
    deps.breaker ?? DEFAULT_BREAKER,
  );
}

/**
 * What an attempt tells the endpoint's breaker: a failure the policy retries counts against it; an answer
 * the endpoint meant (a 2xx, or a tracker's refusal) shows it alive; a cancelled attempt or a 410 (which
 * disables the endpoint) neither.
 */
function breakerEffect(verdict: Decision['verdict']): 'failure' | 'success' | null {
  if (verdict === 'retry') return 'failure';
  if (verdict === 'success' || verdict === 'rejected') return 'success';
  return null;
}

/** Counts a logged attempt: the delivery's status after it, and the answer's status class. */
export function countAttempt(outcome: DeliveryStatus, statusCode: number | null): void {
  deliveryAttempts.inc({ outcome, status_class: statusClass(statusCode) });
}
