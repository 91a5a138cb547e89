/**
 * processEvent: one workflow per accepted event, id `event:<operatorId>:<eventId>`.
 *
 * States: applying (one local activity derives the facts and creates the deliveries, unless the API did
 * it before the start) -> delivering (one activity per delivery, side by side, retried by Temporal on the
 * delivery's own policy) -> completed.
 * Signals: retryDelivery (cut a wait short; an attempt it races finishes and its outcome counts),
 * cancelDelivery (an attempt on the wire is aborted, and waited for; the reason is the delivery's lastError:
 * `cancelled by request`, or `endpoint_disabled` / `endpoint_deleted` when its endpoint's sweep sends it),
 * redriveDeliveries (deliver reopened failed deliveries again; a closed workflow is started again under its
 * id), replayDeliveries (an endpoint's replay: deliveries it put back to pending, whatever they had ended
 * as, or made, each with its plan; taken up after the deliveries are loaded), deliveryAttemptFailed (from the activity, for visibility: only when a failed
 * server-side attempt changes the delivery's state, pending -> retrying), wakeDelivery (from the workers: the
 * endpoint's breaker let a delivery waiting for it go; ends that wait now). Query: deliveries.
 * An attempt the activity sent but could not log comes back `unrecorded`: a record-only local activity
 * logs it (retried until PostgreSQL is back) and the workflow waits out its delay itself: never a resend.
 * Exits: completes when every delivery has ended (succeeded, failed = the dead letter, or cancelled); or,
 * once its history passes a limit (or the server suggests it), hands off: launches no more attempts,
 * interrupts the waiting ones (an attempt on the wire finishes, its outcome kept) and continues as new with
 * each unfinished delivery's schedule (driveBase, nextAttemptAt); the next run reloads the deliveries.
 *
 * Cost on the happy path: one workflow start and one local activity per delivery (its first attempt),
 * all in the run's first workflow task: the API applied the event before starting the run and handed it
 * the plans (`applied`; a commission event that wakes its customer adds one local activity beside the
 * attempts). A run started by anything else applies the event first, in one local activity. A first
 * attempt whose retry is due within seconds costs that retry alone (a timer and a second local attempt,
 * nothing published unless it fails too; runs of patch level 1, event-patches.ts). Later failed attempts
 * cost their server-side retry alone: the workflow hears of a delivery's first failure (the local
 * attempt's result, or one `deliveryAttemptFailed` signal when the first attempt ran server-side) and of
 * its end, not of the retries between, which Temporal runs without a workflow task. A rate-limit wait
 * costs a server-side retry; a waiting delivery costs no worker CPU. A delivery held by its endpoint's
 * open breaker waits on a server-side retry too (no attempt spent), until a probe that succeeds wakes it
 * (a signal) or its recheck comes.
 * So the search attributes, details and `deliveries` query change with a delivery's state, not each attempt:
 * a waiting delivery's `DeliveryAttempt` / `NextAttemptAt` are its first failure's ("retrying since about",
 * see event-progress.ts); the live figures are on the pending activity and in PostgreSQL (the REST API).
 * Every run carries the event's search attributes (set at start, or first thing when its starter did not)
 * and publishes DeliveryStatus from its start when its deliveries were already under way (a redrive's run,
 * a continued one), so the README's queries find whichever run is the latest.
 * The deliveries themselves (driving, signals, hand-off, what is shown) are in event-deliveries.ts.
 */
import {
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, AppliedBeforeStart, EventFacts } from '../activities/index.js';
import type { EventType } from '../src/domain/event-types.js';
import { SA } from '../src/domain/search-attributes.js';
import { EventDeliveries } from './event-deliveries.js';
import { applied as patchApplied, CONTINUE_AS_NEW, EVERY_RUN_FINDABLE } from './event-patches.js';
import { missingIdentity } from './event-progress.js';
import { handOver, HISTORY_LIMIT, type HandedOver } from './tracked-delivery.js';
import {
  cancelDeliverySignal,
  deliveriesQuery,
  deliveryAttemptFailedSignal,
  redriveDeliveriesSignal,
  replayDeliveriesSignal,
  retryDeliverySignal,
  wakeDeliverySignal,
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
  /**
   * The patch level it was started at (EVENT_WORKFLOW_LEVEL in event-patches.ts): such a run asks for no
   * patch of that level, so its first failure or hand-off records no marker and no extra upsert.
   */
  level?: number;
  /**
   * The event as the API applied it before starting this run (facts, delivery plans, whom to wake): the
   * run makes its first attempts at once, without the applyEvent local activity. Absent for every other
   * starter (a batch, the reconciler, a redrive, an emitted event) and for a continued run, which apply
   * (or reload) it themselves.
   */
  applied?: AppliedBeforeStart;
}

export interface ProcessEventResult {
  facts: EventFacts;
  /** The event types this event is delivered as: its own, plus `deposit.ftd` for a first deposit. */
  emits: string[];
  deliveries: DeliveryView[];
}

// PostgreSQL (or Temporal, for a wake) being away is a wait, never a loss: keep trying, backing off to a minute.
const UNTIL_IT_ANSWERS = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' };
const { applyEvent } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  summary: 'apply the event in PostgreSQL: attribution, first deposit, deliveries',
  retry: UNTIL_IT_ANSWERS,
});
const { wakeCustomer } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  summary: "wake the customer's settlement workflow",
  retry: UNTIL_IT_ANSWERS,
});

/** Processes one operator event: derives its meaning, delivers it to every subscribed endpoint. */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const deliveries = new EventDeliveries({ ...input, continued: Boolean(input.handedOver) });
  setHandler(deliveriesQuery, () => deliveries.views());
  setHandler(deliveryAttemptFailedSignal, (info) => deliveries.attemptFailed(info));
  setHandler(retryDeliverySignal, ({ deliveryId }) => deliveries.retry(deliveryId));
  setHandler(wakeDeliverySignal, ({ deliveryId }) => deliveries.wake(deliveryId));
  setHandler(cancelDeliverySignal, ({ deliveryId, reason }) => deliveries.cancelOne(deliveryId, reason));
  setHandler(redriveDeliveriesSignal, ({ deliveryIds }) => deliveries.redrive(deliveryIds));
  setHandler(replayDeliveriesSignal, ({ deliveries: plans }) => deliveries.replay(plans));

  // Only a run started without them asks (no marker when the starter set them, as the API does).
  const identity = missingIdentity(input, workflowInfo().typedSearchAttributes);
  if (identity.length && patchApplied(input.level, EVERY_RUN_FINDABLE)) upsertSearchAttributes(identity);

  const applied =
    input.applied ??
    (await applyEvent({
      operatorId: input.operatorId,
      eventId: input.eventId,
      workflowId: workflowInfo().workflowId,
      // Lets the activity wake the customer's commission workflow for the events that can move money.
      type: input.type,
      customerId: input.customerId,
    }));
  // Applied by the API: the wake goes out beside the first attempts, in the same workflow task.
  const wakeAffiliateId = input.applied?.wakeAffiliateId;
  const woken = wakeAffiliateId
    ? wakeCustomer({
        operatorId: input.operatorId,
        eventId: input.eventId,
        customerId: input.customerId,
        affiliateId: wakeAffiliateId,
      })
    : undefined;

  const affiliateId = applied.facts.effectiveAttribution?.affiliateId;
  if (
    typeof affiliateId === 'string' &&
    workflowInfo().typedSearchAttributes.get(SA.AffiliateId) !== affiliateId
  ) {
    // Inherited from the registration: make the event findable by affiliate in the Web UI.
    upsertSearchAttributes([{ key: SA.AffiliateId, value: affiliateId }]);
  }

  deliveries.load(applied.deliveries, input.handedOver ?? []);

  const idle = () => deliveries.idle();
  const limit = input.historyLimit ?? HISTORY_LIMIT;
  const long = () =>
    deliveries.progressed && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= limit);
  let refused = false;
  for (;;) {
    await condition(() => idle() || (!refused && long()));
    if (idle()) break;
    // A run started before the patch, replayed, keeps going as it did.
    if (!patchApplied(input.level, CONTINUE_AS_NEW)) {
      refused = true;
      continue;
    }
    deliveries.handOff();
    await condition(idle);
  }
  await woken;
  await condition(allHandlersFinished);
  // A cancel during the hand-off drives its delivery to the end: wait for that too.
  if (deliveries.handingOff) await condition(() => idle() && allHandlersFinished());
  const unfinished = deliveries.unfinished();
  if (deliveries.handingOff && unfinished.length) {
    // The next run must be found by the same queries: the server carries the search attributes over by
    // itself (checked with the dev server), and they are passed explicitly so that never depends on it.
    await makeContinueAsNewFunc<typeof processEvent>({
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
    })({ ...continued(input), handedOver: unfinished.map(handOver) });
  }
  return { facts: applied.facts, emits: applied.emits, deliveries: deliveries.views() };
}

/** A continued run's input: it reloads its deliveries from PostgreSQL, not from what the API applied. */
function continued(input: ProcessEventInput): ProcessEventInput {
  const { applied: _applied, ...rest } = input;
  return rest;
}
