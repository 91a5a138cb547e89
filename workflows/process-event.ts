/**
 * processEvent: one workflow per accepted event, id `event:<operatorId>:<eventId>`.
 *
 * States: applying (one local activity derives the facts and creates the deliveries) -> delivering (one
 * activity per delivery, side by side, retried by Temporal on the delivery's own policy) -> completed.
 * Signals: retryDelivery (cut a wait short; an attempt it races finishes and its outcome counts),
 * cancelDelivery (an attempt on the wire is aborted, and waited for), redriveDeliveries (deliver reopened
 * failed deliveries again), deliveryAttemptFailed (from the activity, for visibility). Query: deliveries.
 * An attempt the activity sent but could not log comes back `unrecorded`: a record-only local activity
 * logs it (retried until PostgreSQL is back) and the workflow waits out its delay itself: never a resend.
 * Exits: completes when every delivery has ended (succeeded, failed = the dead letter, or cancelled).
 *
 * Cost on the happy path: one workflow start, one local activity to apply the event, one local activity
 * per delivery (its first attempt). A failed attempt costs a server-side retry timer and one signal, plus
 * one version marker for the first retried delivery; a rate-limit wait costs a server-side retry; a
 * waiting delivery costs no worker CPU.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  Activities,
  AttemptFailure,
  DeliverOutcome,
  DeliverResult,
  RetryingOutcome,
} from '../activities/index.js';
import type { EventFacts } from '../activities/index.js';
import type { InboundEventType } from '../src/domain/event-types.js';
import { maxAttempts } from '../src/domain/retry-policy.js';
import { SA } from '../src/domain/search-attributes.js';
import { attemptFailure, settle, TERMINAL, track, view, type Tracked } from './tracked-delivery.js';
import {
  cancelDeliverySignal,
  deliveriesQuery,
  deliveryAttemptFailedSignal,
  redriveDeliveriesSignal,
  retryDeliverySignal,
  type DeliveryView,
} from './definitions.js';

export interface ProcessEventInput {
  operatorId: string;
  eventId: string;
  type: InboundEventType;
  customerId: string;
}

export interface ProcessEventResult {
  facts: EventFacts;
  /** The event types this event is delivered as: its own, plus `deposit.ftd` for a first deposit. */
  emits: string[];
  deliveries: DeliveryView[];
}

/**
 * From this patch on, a delivery activity that is cancelled (retry-now, cancel) is waited for until it has
 * finished: the next attempt never starts while the previous one may still be on the wire.
 */
const WAIT_FOR_CANCELLED_ATTEMPT = 'delivery-wait-for-cancelled-attempt';

const { applyEvent, finishDelivery, recordDeliveryOutcome } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  // PostgreSQL being away is a wait, never a loss: keep trying, backing off to a minute.
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Processes one operator event: derives its meaning, delivers it to every subscribed endpoint. */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const deliveries = new Map<string, Tracked>();
  let lastPublished = '';

  setHandler(deliveriesQuery, () => [...deliveries.values()].map(view));
  setHandler(deliveryAttemptFailedSignal, (info) => {
    const d = deliveries.get(info.deliveryId);
    if (!d || TERMINAL.has(d.status) || info.attempt < d.attemptCount) return;
    d.status = 'retrying';
    d.attemptCount = info.attempt;
    d.nextAttemptAt = info.nextAttemptAt;
    d.lastError = info.error;
    publish();
  });
  setHandler(retryDeliverySignal, ({ deliveryId }) => {
    const d = deliveries.get(deliveryId);
    // Only a waiting delivery is cut short: an attempt in flight is left to finish.
    if (d?.active && d.status === 'retrying' && d.scope) {
      d.interrupt = 'retry';
      d.scope.cancel();
    }
  });
  setHandler(cancelDeliverySignal, ({ deliveryId, reason }) => {
    const d = deliveries.get(deliveryId);
    if (!d || TERMINAL.has(d.status)) return;
    d.interrupt = 'cancel';
    d.cancelReason = reason ?? 'cancelled by request';
    if (d.scope) d.scope.cancel();
  });
  setHandler(redriveDeliveriesSignal, ({ deliveryIds }) => {
    for (const id of deliveryIds) {
      const d = deliveries.get(id);
      if (d && d.status === 'failed' && !d.active) {
        d.status = 'pending';
        d.driveBase = d.attemptCount;
        d.lastError = null;
        launch(d);
      }
    }
    publish();
  });

  const applied = await applyEvent({
    operatorId: input.operatorId,
    eventId: input.eventId,
    workflowId: workflowInfo().workflowId,
    // Lets the activity wake the customer's commission workflow for the events that can move money.
    type: input.type,
    customerId: input.customerId,
  });

  const affiliateId = applied.facts.effectiveAttribution?.affiliateId;
  if (
    typeof affiliateId === 'string' &&
    workflowInfo().typedSearchAttributes.get(SA.AffiliateId) !== affiliateId
  ) {
    // Inherited from the registration: make the event findable by affiliate in the Web UI.
    upsertSearchAttributes([{ key: SA.AffiliateId, value: affiliateId }]);
  }

  for (const plan of applied.deliveries) {
    const d = track(plan);
    deliveries.set(d.deliveryId, d);
    // A redrive reopens failed deliveries in PostgreSQL before it signals, so a new run sees them pending.
    if (!TERMINAL.has(d.status)) launch(d);
  }
  publish();

  await condition(() => [...deliveries.values()].every((d) => !d.active));
  await condition(allHandlersFinished);
  return { facts: applied.facts, emits: applied.emits, deliveries: [...deliveries.values()].map(view) };

  function launch(d: Tracked) {
    d.active = true;
    void drive(d).finally(() => {
      d.active = false;
      d.scope = null;
      publish();
    });
  }

  async function drive(d: Tracked): Promise<void> {
    // A fresh schedule starts with a local attempt: on the happy path no activity task crosses the server.
    if (d.attemptCount === d.driveBase && !d.rateLimitPerSecond && d.interrupt === null) {
      if ((await firstAttempt(d)) === 'done') return;
    }
    // Retries cut short (retry-now) or cancelled wait for the attempt they interrupt to finish.
    const waitCancelled = patched(WAIT_FOR_CANCELLED_ATTEMPT);
    for (;;) {
      if (d.interrupt === 'cancel') return cancel(d);
      d.interrupt = null;
      const scope = new CancellationScope();
      d.scope = scope;
      const remaining = Math.max(1, maxAttempts(d.policy) - (d.attemptCount - d.driveBase));
      const { deliverWebhook } = proxyActivities<Activities>({
        // One attempt: the endpoint's timeout plus room to read the body's first bytes and to log it. A
        // dead worker is noticed by the heartbeat timeout (the activity heartbeats past its first second).
        startToCloseTimeout: d.timeoutMs + 15_000 + (d.rateLimitPerSecond ? 30_000 : 0),
        ...(waitCancelled
          ? {
              heartbeatTimeout: '10s',
              cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            }
          : {}),
        summary: `deliver ${d.eventType} to ${d.endpointHost} (${d.endpointId})`,
        retry: {
          // The activity ends the delivery itself when the policy is spent (attempts lost with a dead worker
          // are logged and count too). Each attempt costs Temporal at most two tries, a wait for a send slot
          // (which is then used, never reserved again) and the send, plus crashes before any send: this
          // bound can never stop a delivery that is only waiting for its slot.
          maximumAttempts: waitCancelled ? 2 * remaining + 20 : remaining + 20,
          // Used only when an attempt dies without deciding its own delay (a worker crash).
          initialInterval: '5s',
          backoffCoefficient: 2,
          maximumInterval: '10m',
          nonRetryableErrorTypes: ['DeliveryNotFoundError'],
        },
      });
      let result: DeliverResult;
      try {
        result = await scope.run(() => deliverWebhook({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
      } catch (err) {
        // Cancelled, or failed after the cancellation was requested (the server does not retry an activity
        // cancelled meanwhile: an attempt that failed, a wait for a send slot): what was asked decides.
        const interrupted = isCancellation(err) || err instanceof ActivityFailure;
        if (interrupted && d.interrupt === 'cancel') return cancel(d);
        if (interrupted && d.interrupt === 'retry') {
          noteFailure(d, attemptFailure(err));
          continue;
        }
        // Temporal gave up (attempts spent by crashes, or a non-retryable fault): the dead letter.
        const message = err instanceof Error ? err.message : String(err);
        await finishDelivery({ deliveryId: d.deliveryId, status: 'failed', reason: message });
        d.status = 'failed';
        d.lastError = message;
        d.nextAttemptAt = null;
        return;
      }
      if ((await absorb(d, result)) === 'done') return;
      // Logged by the workflow (PostgreSQL was away during the attempt): wait out its delay here.
      if ((await waitForNextAttempt(d)) === 'done') return;
    }
  }

  /**
   * Takes an attempt's result: an attempt the activity could not log is logged now (a local activity that
   * never sends, retried until PostgreSQL is back). 'wait' when it failed with attempts left.
   */
  async function absorb(d: Tracked, result: DeliverResult): Promise<'done' | 'wait'> {
    const outcome: DeliverOutcome | RetryingOutcome =
      result.status === 'unrecorded'
        ? await CancellationScope.nonCancellable(() => recordDeliveryOutcome(result))
        : result;
    if (outcome.status !== 'retrying') {
      settle(d, outcome);
      return 'done';
    }
    noteFailure(d, outcome);
    return 'wait';
  }

  function noteFailure(d: Tracked, failed: AttemptFailure | null) {
    if (!failed) return;
    d.status = 'retrying';
    d.attemptCount = Math.max(d.attemptCount, failed.attempt);
    d.nextAttemptAt = failed.nextAttemptAt;
    d.lastError = failed.error;
    publish();
  }

  /** Waits until the next attempt is due; retry-now cuts it short, cancel ends the delivery. */
  async function waitForNextAttempt(d: Tracked): Promise<'done' | 'retries'> {
    const wait = new CancellationScope();
    d.scope = wait;
    try {
      await wait.run(() => sleep(Math.max(0, Date.parse(d.nextAttemptAt!) - Date.now())));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      if (d.interrupt === 'cancel') {
        await cancel(d);
        return 'done';
      }
    }
    d.interrupt = null;
    return 'retries';
  }

  /**
   * The first attempt as a local activity. A failed attempt is waited out here (a timer retry-now can cut
   * short) and the retries continue as ordinary activities, whose waits cost the worker nothing.
   */
  async function firstAttempt(d: Tracked): Promise<'done' | 'retries'> {
    const scope = new CancellationScope();
    d.scope = scope;
    const { deliverWebhook: deliverLocally } = proxyLocalActivities<Activities>({
      startToCloseTimeout: d.timeoutMs + 15_000,
      summary: `deliver ${d.eventType} to ${d.endpointHost} (${d.endpointId}), first attempt`,
      retry: { maximumAttempts: 1 },
    });
    let result: DeliverResult;
    try {
      result = await scope.run(() => deliverLocally({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
    } catch (err) {
      if (isCancellation(err) && d.interrupt === 'cancel') {
        await cancel(d);
        return 'done';
      }
      const failed = attemptFailure(err);
      // Not an attempt that failed (a fault, PostgreSQL away...): the ordinary activity retries it.
      if (!failed) return 'retries';
      noteFailure(d, failed);
      return waitForNextAttempt(d);
    }
    if ((await absorb(d, result)) === 'done') return 'done';
    return waitForNextAttempt(d);
  }

  async function cancel(d: Tracked) {
    await CancellationScope.nonCancellable(() =>
      finishDelivery({
        deliveryId: d.deliveryId,
        status: 'cancelled',
        reason: d.cancelReason ?? 'cancelled',
      }),
    );
    d.status = 'cancelled';
    d.nextAttemptAt = null;
    d.lastError = d.cancelReason;
  }

  /** Upserts the search attributes and current details, only when they change. */
  function publish() {
    const all = [...deliveries.values()];
    if (!all.length) return;
    const statuses = [...new Set(all.map((d) => d.status))].sort();
    const pending = [...new Set(all.filter((d) => !TERMINAL.has(d.status)).map((d) => d.endpointId))].sort();
    const attempt = Math.max(0, ...all.map((d) => d.attemptCount));
    const waits = all.filter((d) => d.status === 'retrying' && d.nextAttemptAt).map((d) => d.nextAttemptAt!);
    const next = waits.length ? waits.sort()[0]! : null;
    const key = JSON.stringify([statuses, pending, attempt, next]);
    // Each upsert is a billed action: the happy path (every delivery succeeding at once) makes none. From the
    // first wait, failure or cancellation on, every change is published, down to the final statuses.
    const eventful = all.some(
      (d) => d.status === 'retrying' || d.status === 'failed' || d.status === 'cancelled',
    );
    if (key !== lastPublished && (eventful || lastPublished !== '')) {
      lastPublished = key;
      upsertSearchAttributes([
        { key: SA.DeliveryStatus, value: statuses },
        { key: SA.EndpointId, value: pending },
        { key: SA.DeliveryAttempt, value: attempt },
        { key: SA.NextAttemptAt, value: next ? new Date(next) : null },
      ]);
    }
    const done = all.filter((d) => TERMINAL.has(d.status)).length;
    const waiting = all.filter((d) => d.status === 'retrying');
    setCurrentDetails(
      [
        `**${input.type}** \`${input.eventId}\` for customer \`${input.customerId}\`: ${done}/${all.length} deliveries finished.`,
        ...waiting.map(
          (d) =>
            `- \`${d.deliveryId}\` to ${d.endpointHost} (\`${d.endpointId}\`): attempt ${d.attemptCount} failed ` +
            `(${d.lastError ?? 'unknown'}); next attempt at ${d.nextAttemptAt}.`,
        ),
      ].join('\n'),
    );
  }
}
