import { ApplicationFailure } from '@temporalio/common';
import { bindCustomer, claimFirstDeposit, lockCustomer, type LockedCustomer } from '../src/db/customers.js';
import { ensureDeliveries, type Delivery } from '../src/db/deliveries.js';
import { findEndpointSettings, type Endpoint } from '../src/db/endpoints.js';
import { findSubscriptions, type Subscription } from '../src/db/endpoint-subscriptions.js';
import {
  findBindingRegistration,
  lockEventToApply,
  markEventProcessed,
  recordEventToApply,
  type EventToApply,
} from '../src/db/event-application.js';
import type { EventFacts, NewEvent } from '../src/db/events.js';
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../src/db/pool.js';
import { ACTIVITY_FAILURES } from '../src/domain/activity-failures.js';
import {
  attributedAffiliateId,
  bindingOf,
  effectiveAttribution,
  isBindingRegistration,
  needsBinding,
} from '../src/domain/attribution.js';
import { emittedTypes, isInboundEventType } from '../src/domain/event-types.js';
import { isCommissionEventType } from '../src/domain/commission/facts.js';
import { decideFirstDeposit } from '../src/domain/first-deposit.js';
import { postbackCarriage } from '../src/domain/postback/meaning.js';
import { resolvePostbackConfig } from '../src/domain/postback/presets.js';
import { filterSubject, routeThrough } from '../src/domain/routing-filter.js';
import type { ResolvedRetryPolicy } from '../src/domain/retry-policy.js';

export interface EventRef {
  operatorId: string;
  eventId: string;
  workflowId: string;
}

/** What the workflow needs to drive one delivery. */
export interface DeliveryPlan {
  deliveryId: string;
  endpointId: string;
  endpointHost: string;
  eventType: string;
  status: Delivery['status'];
  attemptCount: number;
  policy: ResolvedRetryPolicy;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
  /**
   * When its next attempt is due, as PostgreSQL has it (set by every failed attempt; the workflow only
   * hears of the first). Absent from results recorded before it existed.
   */
  nextAttemptAt?: string | null;
}

export interface AppliedEvent {
  facts: EventFacts;
  /** The types this event is delivered as: its own, plus `deposit.ftd` for a first deposit. */
  emits: string[];
  deliveries: DeliveryPlan[];
  /**
   * Whether the operator has set up the affiliate the event is attributed to (so a commission event
   * wakes the customer's workflow). Known when the event was applied now; absent on a replay.
   */
  affiliateKnown?: boolean;
  /**
   * Whether this event is the one to signal the customer's settlement workflow (a settlement already due
   * reads it without one). Known when the event was applied now; absent on a replay, which signals.
   */
  wake?: boolean;
}

/**
 * What the API hands an event's workflow when it applied the event itself, between recording it and
 * starting the workflow (src/ingest/accept-event.ts): the run then makes its first attempts in its first
 * activation, with no local activity before them.
 */
export interface AppliedBeforeStart {
  facts: EventFacts;
  emits: string[];
  deliveries: DeliveryPlan[];
  /** The affiliate whose customer's settlement workflow the run wakes (a commission event); absent: none. */
  wakeAffiliateId?: string;
}

/**
 * The affiliate of the customer whose settlement workflow an applied event wakes, or null: a commission
 * event attributed to an affiliate the operator has set up (`known`), unless a wake is already on its way
 * (a settlement already due reads this event too: src/db/migrations/012_customer_wakes.sql).
 */
export function affiliateToWake(type: string, applied: AppliedEvent, known: boolean): string | null {
  const affiliateId = applied.facts.effectiveAttribution?.affiliateId;
  if (!isCommissionEventType(type) || typeof affiliateId !== 'string' || !known) return null;
  return applied.wake === false ? null : affiliateId;
}

/**
 * Applies an event to what is known of its customer, in one transaction, and records the facts derived:
 * the effective attribution (src/domain/attribution.ts) and whether a deposit is the FTD
 * (src/domain/first-deposit.ts). Idempotent: a replayed call returns the facts recorded the first time.
 * Run by the event's workflow, which confirms its own start with it.
 *
 * Concurrent events of one customer serialise on the customer row lock, so of two racing first deposits
 * exactly one becomes the FTD.
 */
export async function applyEventTx(pool: Pool, ref: EventRef): Promise<AppliedEvent> {
  return withTransaction(pool, async (tx) => {
    const event = await lockEventToApply(tx, ref.operatorId, ref.eventId);
    if (!event) {
      throw ApplicationFailure.nonRetryable(
        `event ${ref.eventId} is not recorded`,
        ACTIVITY_FAILURES.eventNotFound,
      );
    }
    if (event.status === 'processed' && event.facts) {
      // Replayed, or a later run of the workflow (redrive): what was decided the first time stands.
      const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, []);
      return planOf(tx, event.facts, emittedTypes(event.type, event.facts), deliveries, new Map());
    }
    return applyNew(tx, ref, event, true);
  });
}

/**
 * Records a new event and applies it (as applyEventTx), in one transaction: what the API does before it
 * starts the event's workflow, and what it starts the run with. The row's start is left unconfirmed (the
 * start may still fail, and the reconciler looks for rows without one). Null when an event with this
 * (operator, id) was recorded before: nothing is written then.
 */
export async function recordAndApplyTx(pool: Pool, e: NewEvent): Promise<AppliedBeforeStart | null> {
  const applied = await withTransaction(pool, async (tx) => {
    const event = await recordEventToApply(tx, e);
    if (!event) return null;
    const ref = { operatorId: e.operatorId, eventId: e.eventId, workflowId: e.workflowId };
    return applyNew(tx, ref, event, false);
  });
  if (!applied) return null;
  const { facts, emits, deliveries } = applied;
  const wake = affiliateToWake(e.type, applied, applied.affiliateKnown);
  return wake ? { facts, emits, deliveries, wakeAffiliateId: wake } : { facts, emits, deliveries };
}

/** The application of an event not applied before, locked (or inserted) by this transaction. */
async function applyNew(
  tx: PoolClient,
  ref: EventRef,
  event: EventToApply,
  started: boolean,
): Promise<AppliedEvent & { affiliateKnown: boolean }> {
  const { facts, customerCountry } = await deriveFacts(tx, ref.operatorId, event);
  const emits = emittedTypes(event.type, facts);
  const affiliateId = attributedAffiliateId(facts.effectiveAttribution);
  // Every delivered type's subscribers as of the event's acceptance, and the operator's default retry
  // policy, in one round trip; their filters (as of acceptance too) are judged here, on what the event
  // says, with no further statement.
  const subscriptions = await findSubscriptions(tx, ref.operatorId, emits, affiliateId, event.acceptedAt);
  const subject = filterSubject({
    brand: event.payload.brand,
    attribution: facts.effectiveAttribution,
    data: event.payload.data,
    customerCountry,
  });
  const wanted = subscriptions.filter(carried).flatMap((s) => {
    const { deliver, routing } = routeThrough(s.filter, subject);
    if (!deliver) return [];
    return [{ endpointId: s.endpoint.id, eventType: s.eventType, retryPolicy: s.retryPolicy, routing }];
  });
  const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, wanted);
  const { affiliateKnown, wake } = await markEventProcessed(
    tx,
    ref.operatorId,
    ref.eventId,
    facts,
    affiliateId,
    isCommissionEventType(event.type),
    emits,
    started,
  );
  const endpoints = new Map(subscriptions.map((s) => [s.endpoint.id, s.endpoint]));
  const plan = await planOf(tx, facts, emits, deliveries, endpoints);
  return { ...plan, affiliateKnown, wake };
}

/**
 * The facts of an event applied for the first time, recording on its customer what they bind: the
 * attribution inherited from the registration, the FTD claimed. Events the orchestrator emits itself
 * (operational events) belong to no customer and record nothing on one. Also the customer's country as
 * its registration reported it, for endpoint filters.
 */
async function deriveFacts(
  tx: PoolClient,
  operatorId: string,
  event: EventToApply,
): Promise<{ facts: EventFacts; customerCountry: unknown }> {
  const inbound = isInboundEventType(event.type);
  // A registration binds its customer itself, in the insert when the customer is new.
  const ownBinding = isBindingRegistration(event) ? bindingOf(event) : null;
  const customer = inbound ? await lockCustomer(tx, operatorId, event.customerId, ownBinding) : NO_CUSTOMER;
  const boundNow = ownBinding && customer.bound ? ownBinding : null;
  let attribution = boundNow ? boundNow.attribution : customer.attribution;
  let customerCountry: unknown = boundNow ? boundNow.country : customer.country;
  if (needsBinding(inbound, attribution)) {
    // Any other event looks for the recorded registration.
    const binding = ownBinding ?? bindingOf(await findBindingRegistration(tx, operatorId, event.customerId));
    if (binding) {
      await bindCustomer(tx, operatorId, event.customerId, binding);
      attribution = binding.attribution;
      customerCountry = binding.country;
    }
  }
  const deposit = decideFirstDeposit(
    { eventId: event.eventId, type: event.type, occurredAt: event.occurredAt, data: event.payload.data },
    customer.ftdEventId,
  );
  if (deposit.claim) await claimFirstDeposit(tx, operatorId, event.customerId, deposit.claim);
  return {
    facts: {
      effectiveAttribution: effectiveAttribution(event.payload.attribution, attribution),
      ftd: deposit.ftd,
    },
    customerCountry,
  };
}

/**
 * Whether the subscription gets a delivery. A postback endpoint's wildcard leaves out what the endpoint
 * cannot carry (a chargeback without a reversal, a type that means nothing to a tracker: its
 * `eventTypesExcluded`), so `*` costs no cancelled delivery per KYC change or daily revenue figure. A type
 * named explicitly (saved before such were refused) still gets its delivery, cancelled when it is prepared
 * with the reason, so whoever subscribed to it sees why nothing went out.
 */
function carried(s: Subscription): boolean {
  if (s.explicit || s.endpoint.format !== 'postback') return true;
  const resolved = resolvePostbackConfig(s.endpoint.url, s.endpoint.postback ?? {});
  return !resolved.ok || postbackCarriage(resolved.config, s.eventType).carried;
}

const NO_CUSTOMER: LockedCustomer & { bound: boolean } = {
  attribution: null,
  ftdEventId: null,
  country: null,
  bound: false,
};

type PlannedEndpoint = Pick<Endpoint, 'url' | 'timeoutMs' | 'rateLimitPerSecond'>;

/**
 * What the workflow needs of each delivery. Endpoints already read in this transaction (the subscribers
 * just matched) are reused; only the others (a replay, whose endpoints were not matched again) are read.
 */
async function planOf(
  tx: Queryable,
  facts: EventFacts,
  emits: string[],
  deliveries: Delivery[],
  known: Map<string, PlannedEndpoint>,
): Promise<AppliedEvent> {
  if (!deliveries.length) return { facts, emits, deliveries: [] };
  const endpoints = new Map(known);
  const missing = [...new Set(deliveries.map((d) => d.endpointId).filter((id) => !endpoints.has(id)))];
  if (missing.length) {
    for (const [id, settings] of await findEndpointSettings(tx, missing)) endpoints.set(id, settings);
  }
  return {
    facts,
    emits,
    deliveries: deliveries.map((d) => {
      const endpoint = endpoints.get(d.endpointId)!;
      return {
        deliveryId: d.id,
        endpointId: d.endpointId,
        endpointHost: hostOf(endpoint.url),
        eventType: d.eventType,
        status: d.status,
        attemptCount: d.attemptCount,
        policy: d.retryPolicy,
        timeoutMs: endpoint.timeoutMs,
        rateLimitPerSecond: endpoint.rateLimitPerSecond,
        nextAttemptAt: d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
      };
    }),
  };
}

/** The plans of deliveries read from PostgreSQL (a replay hands its event's workflow those it queued). */
export async function deliveryPlans(tx: Queryable, deliveries: Delivery[]): Promise<DeliveryPlan[]> {
  return (await planOf(tx, { effectiveAttribution: null, ftd: false }, [], deliveries, new Map())).deliveries;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}
