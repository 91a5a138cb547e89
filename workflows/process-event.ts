/**
 * processEvent: one workflow per accepted event, id `event:<operatorId>:<eventId>`.
 *
 * States: applying (one local activity derives the facts and creates the deliveries) -> delivering (one
 * activity per delivery, side by side, retried by Temporal on the delivery's own policy) -> completed.
 * Signals: retryDelivery (cut a wait short; an attempt it races finishes and its outcome counts),
 * cancelDelivery (an attempt on the wire is aborted, and waited for), redriveDeliveries (deliver reopened
 * failed deliveries again), deliveryAttemptFailed (from the activity, for visibility: only when a failed
 * server-side attempt changes the delivery's state, pending -> retrying). Query: deliveries.
 * An attempt the activity sent but could not log comes back `unrecorded`: a record-only local activity
 * logs it (retried until PostgreSQL is back) and the workflow waits out its delay itself: never a resend.
 * Exits: completes when every delivery has ended (succeeded, failed = the dead letter, or cancelled); or,
 * once its history passes a limit (or the server suggests it), hands off: launches no more attempts,
 * interrupts the waiting ones (an attempt on the wire finishes, its outcome kept) and continues as new with
 * each unfinished delivery's schedule (driveBase, nextAttemptAt); the next run reloads the deliveries.
 *
 * Cost on the happy path: one workflow start, one local activity to apply the event, one local activity
 * per delivery (its first attempt). A failed attempt costs its server-side retry alone: the workflow hears
 * of a delivery's first failure (the local attempt's result, or one `deliveryAttemptFailed` signal when
 * the first attempt ran server-side) and of its end, not of the retries between, which Temporal runs
 * without a workflow task. A rate-limit wait costs a server-side retry; a waiting delivery costs no
 * worker CPU.
 * So the search attributes, details and `deliveries` query change with a delivery's state, not each attempt:
 * a waiting delivery's `DeliveryAttempt` / `NextAttemptAt` are its first failure's ("retrying since about",
 * see event-progress.ts); the live figures are on the pending activity and in PostgreSQL (the REST API).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  makeContinueAsNewFunc,
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
import type { Activities, AttemptFailure, DeliverOutcome } from '../activities/index.js';
import type { DeliverResult, EventFacts, RetryingOutcome } from '../activities/index.js';
import type { EventType } from '../src/domain/event-types.js';
import { CANCEL_REASONS } from '../src/domain/cancel-reasons.js';
import { maxAttempts } from '../src/domain/retry-policy.js';
import { SA } from '../src/domain/search-attributes.js';
import { progressAttributes, progressDetails } from './event-progress.js';
import {
  attemptFailure,
  deliveryActivityOptions,
  settle,
  TERMINAL,
  handOver,
  HISTORY_LIMIT,
  resume,
  track,
  view,
  type HandedOver,
  type Tracked,
} from './tracked-delivery.js';
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
  /** An operator's event, or one the orchestrator emits (operational, commission, webhook.test). */
  type: EventType;
  customerId: string;
  /** The history length past which a run hands its deliveries to a new one (default HISTORY_LIMIT). */
  historyLimit?: number;
  /** What a previous run handed over: the unfinished deliveries' schedules (continue-as-new). */
  handedOver?: HandedOver[];
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

/** From this patch on, a run whose history grows past its limit continues as new (see the header). */
const CONTINUE_AS_NEW = 'event-continue-as-new';

/** From this patch on, a continued run waits for the later of the handed-over and stored next attempts. */
const SCHEDULE_FROM_STORE = 'delivery-signal-on-state-change';

const { applyEvent, finishDelivery, recordDeliveryOutcome } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  // PostgreSQL being away is a wait, never a loss: keep trying, backing off to a minute.
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Processes one operator event: derives its meaning, delivers it to every subscribed endpoint. */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const deliveries = new Map<string, Tracked>();
  let lastPublished = '';
  /** Set once this run hands its unfinished deliveries to a new run: it launches no more attempts. */
  let handingOff = false;
  /** An attempt ended in this run: a run that cannot get past its own start never hands off (no loop). */
  let progressed = false;

  setHandler(deliveriesQuery, () => [...deliveries.values()].map(view));
  setHandler(deliveryAttemptFailedSignal, (info) => {
    const d = deliveries.get(info.deliveryId);
    if (!d || TERMINAL.has(d.status) || info.attempt < d.attemptCount) return;
    d.status = 'retrying';
    d.attemptCount = info.attempt;
    d.nextAttemptAt = info.nextAttemptAt;
    d.lastError = info.error;
    d.dueNow = false;
    progressed = true;
    publish();
  });
  setHandler(retryDeliverySignal, ({ deliveryId }) => {
    const d = deliveries.get(deliveryId);
    // Handing off: the next run attempts it at once (unless an attempt on the wire fails and reschedules it).
    if (handingOff && d?.status === 'retrying') d.dueNow = true;
    // Only a waiting delivery is cut short: an attempt in flight is left to finish.
    else if (d?.active && d.status === 'retrying' && d.scope) {
      d.dueNow = true;
      d.interrupt = 'retry';
      d.scope.cancel();
    }
  });
  setHandler(cancelDeliverySignal, ({ deliveryId, reason }) => {
    const d = deliveries.get(deliveryId);
    if (!d || TERMINAL.has(d.status)) return;
    d.interrupt = 'cancel';
    d.cancelReason = reason ?? CANCEL_REASONS.request;
    if (d.scope) d.scope.cancel();
    // Only in a hand-off is an unfinished delivery left undriven: drive it to its cancellation.
    else if (!d.active) launch(d);
  });
  setHandler(redriveDeliveriesSignal, ({ deliveryIds }) => {
    for (const id of deliveryIds) {
      const d = deliveries.get(id);
      if (d && d.status === 'failed' && !d.active) {
        d.status = 'pending';
        d.driveBase = d.attemptCount;
        d.lastError = null;
        // In a hand-off the next run reloads it pending from PostgreSQL and drives it.
        if (!handingOff) launch(d);
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

  const handed = new Map((input.handedOver ?? []).map((h) => [h.deliveryId, h]));
  // Only a continued run asks (no marker on the happy path).
  const fromStore = handed.size > 0 && patched(SCHEDULE_FROM_STORE);
  for (const plan of applied.deliveries) {
    const d = track(plan);
    resume(d, handed.get(d.deliveryId), fromStore ? (plan.nextAttemptAt ?? null) : undefined);
    deliveries.set(d.deliveryId, d);
    // A redrive reopens failed deliveries in PostgreSQL before it signals, so a new run sees them pending.
    if (!TERMINAL.has(d.status)) launch(d);
  }
  publish();

  const idle = () => [...deliveries.values()].every((d) => !d.active);
  const limit = input.historyLimit ?? HISTORY_LIMIT;
  const long = () =>
    progressed && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= limit);
  let refused = false;
  for (;;) {
    await condition(() => idle() || (!refused && long()));
    if (idle()) break;
    // A run started before the patch, replayed, keeps going as it did.
    if (!patched(CONTINUE_AS_NEW)) {
      refused = true;
      continue;
    }
    handOff();
    await condition(idle);
  }
  await condition(allHandlersFinished);
  // A cancel during the hand-off drives its delivery to the end: wait for that too.
  if (handingOff) await condition(() => idle() && allHandlersFinished());
  const unfinished = [...deliveries.values()].filter((d) => !TERMINAL.has(d.status));
  if (handingOff && unfinished.length) {
    // The next run must be found by the same queries: the server carries the search attributes over by
    // itself (checked with the dev server), and they are passed explicitly so that never depends on it.
    await makeContinueAsNewFunc<typeof processEvent>({
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
    })({ ...input, handedOver: unfinished.map(handOver) });
  }
  return { facts: applied.facts, emits: applied.emits, deliveries: [...deliveries.values()].map(view) };

  /** Stops launching attempts, interrupts the waiting ones (see the header): each drive then ends. */
  function handOff() {
    handingOff = true;
    for (const d of deliveries.values()) {
      if (!d.active || d.local || !d.scope || d.interrupt === 'cancel') continue;
      d.interrupt = 'handoff';
      d.scope.cancel();
    }
  }

  function launch(d: Tracked) {
    d.active = true;
    void drive(d).finally(() => {
      d.active = false;
      d.scope = null;
      publish();
    });
  }

  async function drive(d: Tracked): Promise<void> {
    // Handed over by the previous run: its schedule goes on, first waiting out what was due.
    if (d.resumed) {
      d.resumed = false;
      if (d.nextAttemptAt && d.interrupt !== 'cancel' && (await waitForNextAttempt(d)) === 'done') return;
    }
    // A fresh schedule starts with a local attempt: on the happy path no activity task crosses the server.
    if (d.attemptCount === d.driveBase && !d.rateLimitPerSecond && d.interrupt === null) {
      if ((await firstAttempt(d)) === 'done') return;
    }
    // Retries cut short (retry-now) or cancelled wait for the attempt they interrupt to finish.
    const waitCancelled = patched(WAIT_FOR_CANCELLED_ATTEMPT);
    for (;;) {
      if (d.interrupt === 'cancel') return cancel(d);
      if (handingOff) return;
      d.interrupt = null;
      const scope = new CancellationScope();
      d.scope = scope;
      const remaining = Math.max(1, maxAttempts(d.policy) - (d.attemptCount - d.driveBase));
      const { deliverWebhook } = proxyActivities<Activities>(
        deliveryActivityOptions(d, remaining, waitCancelled),
      );
      let result: DeliverResult;
      try {
        result = await scope.run(() => deliverWebhook({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
      } catch (err) {
        // Cancelled, or failed after the cancellation was requested (the server does not retry an activity
        // cancelled meanwhile: an attempt that failed, a wait for a send slot): what was asked decides.
        const interrupted = isCancellation(err) || err instanceof ActivityFailure;
        if (interrupted && d.interrupt === 'cancel') return cancel(d);
        if (interrupted && d.interrupt === 'handoff') return noteFailure(d, attemptFailure(err));
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
    progressed = true;
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
    d.dueNow = false;
    progressed = true;
    publish();
  }

  /** Waits until the next attempt is due; retry-now cuts it short, cancel ends the delivery. */
  async function waitForNextAttempt(d: Tracked): Promise<'done' | 'retries'> {
    // Handing off: the next run waits instead.
    if (handingOff) return 'done';
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
      if (d.interrupt === 'handoff') return 'done';
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
    d.local = true;
    try {
      result = await scope.run(() => deliverLocally({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
    } catch (err) {
      d.local = false;
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
    d.local = false;
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
    const { key, pairs } = progressAttributes(all);
    // Each upsert is a billed action: the happy path (every delivery succeeding at once) makes none. From the
    // first wait, failure or cancellation on, every change is published, down to the final statuses.
    const eventful = all.some(
      (d) => d.status === 'retrying' || d.status === 'failed' || d.status === 'cancelled',
    );
    if (key !== lastPublished && (eventful || lastPublished !== '')) {
      lastPublished = key;
      upsertSearchAttributes(pairs);
    }
    setCurrentDetails(progressDetails({ ...input, continued: Boolean(input.handedOver) }, all));
  }
}
