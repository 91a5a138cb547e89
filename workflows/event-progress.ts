/**
 * What the event workflow shows of its deliveries in the Web UI: the search attributes an operator
 * filters on and the current details. Workflow code: deterministic.
 */
import { setCurrentDetails, upsertSearchAttributes, type workflowInfo } from '@temporalio/workflow';
import { SA } from '../src/domain/search-attributes.js';
import { TERMINAL, type Tracked } from './tracked-delivery.js';

type SearchAttributePairs = Parameters<typeof upsertSearchAttributes>[0];
type RunAttributes = ReturnType<typeof workflowInfo>['typedSearchAttributes'];

/**
 * The event's own search attributes (OperatorId, EventType, EventId, CustomerId when it has one) that the
 * run was started without: none when its starter set them, as the API's start and redrive do.
 */
export function missingIdentity(
  event: { operatorId: string; type: string; eventId: string; customerId: string },
  current: RunAttributes,
): SearchAttributePairs {
  const own = [
    { key: SA.OperatorId, value: event.operatorId },
    { key: SA.EventType, value: event.type },
    { key: SA.EventId, value: event.eventId },
    ...(event.customerId ? [{ key: SA.CustomerId, value: event.customerId }] : []),
  ];
  return own.filter((pair) => current.get(pair.key) === undefined);
}

/**
 * The search attributes the deliveries stand for, and a key that changes whenever they do. The workflow
 * learns of a delivery's changes of state, not of each server-side retry (see processEvent's header): a
 * waiting delivery's `DeliveryAttempt` and `NextAttemptAt` are those of its first failure (or of the last
 * retry-now or hand-off), so `NextAttemptAt` reads "retrying since about", never "the next attempt".
 */
export function progressAttributes(all: Tracked[]): { key: string; pairs: SearchAttributePairs } {
  const statuses = [...new Set(all.map((d) => d.status))].sort();
  const pending = [...new Set(all.filter((d) => !TERMINAL.has(d.status)).map((d) => d.endpointId))].sort();
  const attempt = Math.max(0, ...all.map((d) => d.attemptCount));
  const waits = all.filter((d) => d.status === 'retrying' && d.nextAttemptAt).map((d) => d.nextAttemptAt!);
  const next = waits.length ? waits.sort()[0]! : null;
  return {
    key: JSON.stringify([statuses, pending, attempt, next]),
    pairs: [
      { key: SA.DeliveryStatus, value: statuses },
      { key: SA.EndpointId, value: pending },
      { key: SA.DeliveryAttempt, value: attempt },
      { key: SA.NextAttemptAt, value: next ? new Date(next) : null },
    ],
  };
}

/** The current details: how many deliveries finished, and why and until when each waiting one waits. */
export function progressDetails(
  event: { type: string; eventId: string; customerId: string; continued: boolean },
  all: Tracked[],
): string {
  const done = all.filter((d) => TERMINAL.has(d.status)).length;
  const waiting = all.filter((d) => d.status === 'retrying');
  return [
    `**${event.type}** \`${event.eventId}\` for customer \`${event.customerId}\`: ${done}/${all.length} deliveries finished.`,
    ...(event.continued
      ? ['Continued as new: the attempts before this run are in the earlier runs of this workflow id.']
      : []),
    ...waiting.map(
      (d) =>
        `- \`${d.deliveryId}\` to ${d.endpointHost} (\`${d.endpointId}\`): retrying since attempt ` +
        `${d.attemptCount} failed (${d.lastError ?? 'unknown'}), first retry due ${d.nextAttemptAt}; the ` +
        `pending activity shows the current attempt and its next retry.`,
    ),
  ].join('\n');
}

/** Shows a run's deliveries (ProgressShown.show): its search attributes and current details. */
export class ProgressShown {
  private last = '';
  /** Publish from the first change on, even on the happy path (a run that started with deliveries under way). */
  all = false;

  constructor(private readonly event: Parameters<typeof progressDetails>[0]) {}

  /**
   * Upserts the search attributes when they change, and sets the current details. Each upsert is a billed
   * action: none on the happy path, nor for a short first wait kept quiet. From the first published wait,
   * failure or cancellation on, every change is published, down to the final statuses.
   */
  show(deliveries: Tracked[]): void {
    if (!deliveries.length) return;
    const { key, pairs } = progressAttributes(deliveries);
    const eventful =
      this.all ||
      deliveries.some(
        (d) => (d.status === 'retrying' && !d.quiet) || d.status === 'failed' || d.status === 'cancelled',
      );
    if (key !== this.last && (eventful || this.last !== '')) {
      this.last = key;
      upsertSearchAttributes(pairs);
    }
    setCurrentDetails(progressDetails(this.event, deliveries));
  }
}
