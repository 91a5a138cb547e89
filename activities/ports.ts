import type { Endpoint } from '../src/db/endpoints.js';
import type { EndpointEndedReason } from '../src/domain/cancel-reasons.js';
import type { EmittedEventType, EventType } from '../src/domain/event-types.js';
import type { DeliveryPlan } from './apply-event.js';

/**
 * What the activities ask of the layers above them, as interfaces they own: the composition root
 * (`src/main`, the test and bench systems) implements them over the Temporal client and the intake, and
 * hands them in through `createActivities(deps)`, the way svix hands its worker an operational-webhook
 * sender. So `activities/` never imports `src/ingest/` or `src/temporal/`.
 */
export interface ActivityPorts {
  /** Records an event the orchestrator emits itself and starts its workflow (idempotent by `key`). */
  emitInternalEvent(opts: { startTimeoutMs: number }, e: InternalEvent): Promise<unknown>;
  /** Starts a recorded event's workflow under its business-key id, idempotently. */
  startEventWorkflow(input: EventStart, opts: { timeoutMs: number }): Promise<void>;
  /** Tells the customer's workflow (started if not running) that a commission event waits to be settled. */
  signalCustomerEvent(target: CustomerTarget, eventId: string): Promise<void>;
  /**
   * Hands deliveries a replay put back to pending (or made) to their event's workflow: a signal to the
   * running one, or a new run under the same id when it has closed (signal-with-start).
   */
  replayDeliveries(target: ReplayTarget, plans: DeliveryPlan[]): Promise<void>;
  /** Tells an event's workflow that a delivery started retrying (what it shows in its search attributes). */
  reportAttemptFailed(workflowId: string, info: AttemptFailedReport): Promise<void>;
  /** Asks an event's workflow to cancel one delivery; resolves `false` when the workflow is not running. */
  cancelDelivery(workflowId: string, deliveryId: string, reason: string): Promise<boolean>;
  /**
   * Ends, in the background, the waiting deliveries of an endpoint the worker has just disabled (a 410, or
   * failing too long), as disabling it through the API does; returns at once.
   */
  endEndpointWaits(operatorId: string, endpointId: string, reason: EndpointEndedReason): void;
  /**
   * In the background: wakes the deliveries waiting for an endpoint's breaker that has just closed (longest
   * waiting first), or hands the next probe of one still open to the delivery waiting longest and wakes it.
   */
  wakeBreakerWaits(endpointId: string, change: 'closed' | 'probe_failed'): void;
}

/** A failed server-side attempt, as the event workflow's `deliveryAttemptFailed` signal carries it. */
export interface AttemptFailedReport {
  deliveryId: string;
  attempt: number;
  nextAttemptAt: string;
  error: string;
}

/**
 * Events the orchestrator emits itself (operational events, webhook.test). They travel the same path as an
 * operator's event: a recorded row, then the event workflow, which delivers them to subscribed endpoints.
 * Their ids carry `~`, which operator ids cannot, so the two never collide; a fixed id makes emitting
 * the same fact twice a no-op.
 */
export interface InternalEvent {
  operatorId: string;
  /** Unique per fact, e.g. `delivery.failing~dlv_123~0`. */
  key: string;
  type: EmittedEventType;
  data: Record<string, unknown>;
  /** Deliver to this endpoint only, whatever its subscriptions (webhook.test). */
  onlyEndpoint?: Endpoint;
  /** The customer and attribution the event is about (commission notifications); none by default. */
  customerId?: string;
  attribution?: Record<string, unknown> | null;
  /** The ledger entry a `commission.*` notification reports. */
  commissionEntryId?: string | null;
}

/** A recorded event whose workflow is to start (a settlement's notification). */
export interface EventStart {
  workflowId: string;
  operatorId: string;
  eventId: string;
  type: EmittedEventType;
  customerId: string;
}

/** The event whose workflow a replay hands deliveries to, with what a new run of it starts with. */
export interface ReplayTarget {
  workflowId: string;
  operatorId: string;
  eventId: string;
  type: EventType;
  customerId: string;
  affiliateId: string | null;
}

/** The customer whose workflow is woken, and the affiliate it is attributed to (searchable). */
export interface CustomerTarget {
  operatorId: string;
  customerId: string;
  affiliateId?: string | null | undefined;
}
