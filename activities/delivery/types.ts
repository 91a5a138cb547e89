import type { DeliveryContext } from '../../src/db/delivery-claim.js';
import type { DeliveryDeps, DeliveryHealth } from '../../src/delivery/deps.js';
import type { ActivityPorts } from '../ports.js';

export interface DeliverInput {
  deliveryId: string;
  /** The attempt count when the current schedule began (0, or the count at the last redrive). */
  driveBase: number;
}

/** What a failed attempt reports in its failure details, for the workflow to show and wait out. */
export interface AttemptFailure {
  attempt: number;
  nextAttemptAt: string;
  error: string;
  statusCode: number | null;
  errorClass: string | null;
}

/** How a delivery ended, as data. */
export interface DeliverOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  attempt: number;
  statusCode: number | null;
  error: string | null;
}

/** A failed attempt that was logged, with the wait before the next one. */
export interface RetryingOutcome extends AttemptFailure {
  status: 'retrying';
  delayMs: number;
}

/** The delivery and the attempt the follow-ups are about, in a form the workflow can carry. */
export interface AttemptSubject {
  deliveryId: string;
  operatorId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  workflowId: string;
  redriveCount: number;
  /** The attempt's number in the current schedule (1 = its first since the last redrive). */
  scheduleAttempt: number;
}

/** One attempt's line in the log, as sent to PostgreSQL (times as ISO strings: it may cross the workflow). */
export interface AttemptLine {
  number: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
  responseBytes: number | null;
  responseContentType: string | null;
}

/** What the judge made of an attempt: the delivery's next status and the line to log. */
export interface Decision {
  status: 'succeeded' | 'failed' | 'retrying' | 'cancelled';
  verdict: 'success' | 'gone' | 'rejected' | 'retry' | 'cancelled';
  error: string | null;
  statusCode: number | null;
  /** Until the next attempt; null unless retrying. */
  delayMs: number | null;
  nextAttemptAt: string | null;
  line: AttemptLine;
}

/**
 * An attempt that went out but could not be logged (PostgreSQL away longer than the in-process retries).
 * The workflow hands it to `recordDeliveryOutcome`, retried until PostgreSQL is back: bookkeeping never
 * sends again.
 */
export interface UnrecordedOutcome {
  status: 'unrecorded';
  subject: AttemptSubject;
  decision: Decision;
}

export type DeliverResult = DeliverOutcome | UnrecordedOutcome;

/**
 * What the delivery activities run on: the process's delivery dependencies, and the ports that signal event
 * workflows and emit operational events (without them neither happens).
 */
export interface DeliverDeps extends DeliveryDeps {
  ports?: ActivityPorts | undefined;
}

export type { DeliveryContext, DeliveryHealth };

export function subjectOf(ctx: DeliveryContext, deliveryId: string, driveBase: number): AttemptSubject {
  return {
    deliveryId,
    operatorId: ctx.operator_id,
    endpointId: ctx.endpoint_id,
    eventId: ctx.event_id,
    eventType: ctx.event_type,
    workflowId: ctx.workflow_id,
    redriveCount: ctx.redrive_count,
    scheduleAttempt: (ctx.in_flight_attempt ?? ctx.attempt_count + 1) - driveBase,
  };
}
