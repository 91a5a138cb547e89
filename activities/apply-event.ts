import { ApplicationFailure } from '@temporalio/common';
import { ensureDeliveries, type Delivery } from '../src/db/deliveries.js';
import { findSubscriptions, type Endpoint } from '../src/db/endpoints.js';
import type { EventFacts } from '../src/db/events.js';
import { withTransaction, type Pool, type PoolClient } from '../src/db/pool.js';
import { emittedTypes, isInboundEventType } from '../src/domain/event-types.js';
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
}

/**
 * The transaction's fixed statements, as named prepared statements: node-postgres has each parsed once per
 * connection and then only binds and executes it, and after a few executions PostgreSQL keeps a generic
 * plan, so the parse and plan of every statement of every event are spared (planning alone took 2-3x the
 * execution of these point lookups). Only
 * statements with explicit column lists are prepared: a prepared `SELECT *` or `RETURNING *` would fail
 * ("cached plan must not change result type") in a running process after a migration adds a column.
 */
const STATEMENTS = {
  lockEvent: {
    name: 'apply-event:lock-event-2',
    text: `SELECT type, customer_id, occurred_at, received_at::text AS accepted_at, payload, status, facts
             FROM events
            WHERE operator_id = $1 AND event_id = $2 FOR UPDATE`,
  },
  ensureCustomer: {
    name: 'apply-event:ensure-customer',
    text: 'INSERT INTO customers (operator_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  },
  lockCustomer: {
    name: 'apply-event:lock-customer',
    text: 'SELECT attribution, ftd_event_id FROM customers WHERE operator_id = $1 AND customer_id = $2 FOR UPDATE',
  },
  recordedRegistration: {
    // A registration accepted but not yet applied (its workflow runs behind this event's).
    name: 'apply-event:recorded-registration',
    text: `SELECT event_id, occurred_at, payload FROM events
            WHERE operator_id = $1 AND customer_id = $2 AND type = 'customer.registered'
              AND payload ? 'attribution'
            ORDER BY occurred_at, received_at, event_id
            LIMIT 1`,
  },
  attribute: {
    name: 'apply-event:attribute',
    text: `UPDATE customers SET attribution = $3, attributed_by_event_id = $4, country = $5, registered_at = $6,
                  updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
  },
  claimFtd: {
    name: 'apply-event:claim-ftd',
    text: `UPDATE customers SET ftd_event_id = $3, ftd_deposit_id = $4, ftd_amount = $5, ftd_currency = $6,
                  ftd_at = $7, updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
  },
  markProcessed: {
    // Also answers whether the event's affiliate is set up, saving the commission wake-up a round trip.
    name: 'apply-event:mark-processed-2',
    text: `UPDATE events SET status = 'processed', processed_at = now(), facts = $3,
                  workflow_started_at = coalesce(workflow_started_at, now())
            WHERE operator_id = $1 AND event_id = $2
        RETURNING EXISTS (SELECT 1 FROM affiliates WHERE operator_id = $1 AND affiliate_id = $4::text)
                  AS affiliate_known`,
  },
} as const;

interface LockedEvent {
  type: string;
  customer_id: string;
  occurred_at: Date;
  /**
   * When the event was accepted (received_at: its 202, an emitted event's insert), as PostgreSQL wrote it:
   * its subscribers are those of then, compared to the microsecond (a Date would round to milliseconds).
   */
  accepted_at: string;
  payload: { attribution?: Record<string, unknown>; data: Record<string, unknown> };
  status: string;
  facts: EventFacts | null;
}

interface RecordedRegistration {
  event_id: string;
  occurred_at: Date;
  payload: LockedEvent['payload'];
}

interface LockedCustomer {
  attribution: Record<string, unknown> | null;
  ftd_event_id: string | null;
}

/**
 * Applies an event to what is known of its customer, in one transaction, and records the facts derived:
 * the effective attribution and whether a deposit is the FTD. Idempotent: a replayed call returns the
 * facts recorded the first time.
 *
 * Concurrent events of one customer serialise on the customer row lock, so of two racing first deposits
 * exactly one becomes the FTD.
 */
export async function applyEventTx(pool: Pool, ref: EventRef): Promise<AppliedEvent> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<LockedEvent>({
      ...STATEMENTS.lockEvent,
      values: [ref.operatorId, ref.eventId],
    });
    const event = rows[0];
    if (!event) {
      throw ApplicationFailure.nonRetryable(`event ${ref.eventId} is not recorded`, 'EventNotFoundError');
    }
    if (event.status === 'processed' && event.facts) {
      // Replayed, or a later run of the workflow (redrive): what was decided the first time stands.
      const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, []);
      return planOf(tx, event.facts, emittedTypes(event.type, event.facts), deliveries, new Map());
    }

    // Events the orchestrator emits itself (operational events) belong to no customer.
    const inbound = isInboundEventType(event.type);
    const customer = inbound
      ? await lockCustomer(tx, ref.operatorId, event.customer_id)
      : { attribution: null, ftd_event_id: null };
    let attribution = customer.attribution;
    let ftd = false;

    if (inbound && !attribution) {
      // The registration binds the customer. Events of one customer run in parallel workflows, so a deposit
      // sent a few milliseconds after its registration can be applied first: then the registration is
      // already recorded (an event is accepted only once stored) and binds the customer now, so the
      // deposit inherits it exactly as it would have had the registration been applied first.
      const registration: RecordedRegistration | undefined =
        event.type === 'customer.registered' && event.payload.attribution
          ? { event_id: ref.eventId, occurred_at: event.occurred_at, payload: event.payload }
          : (
              await tx.query<RecordedRegistration>({
                ...STATEMENTS.recordedRegistration,
                values: [ref.operatorId, event.customer_id],
              })
            ).rows[0];
      if (registration?.payload.attribution) {
        attribution = registration.payload.attribution;
        await tx.query({
          ...STATEMENTS.attribute,
          values: [
            ref.operatorId,
            event.customer_id,
            attribution,
            registration.event_id,
            registration.payload.data.country,
            registration.occurred_at,
          ],
        });
      }
    }

    if (event.type === 'deposit.completed') {
      if (customer.ftd_event_id === null) {
        const data = event.payload.data;
        await tx.query({
          ...STATEMENTS.claimFtd,
          values: [
            ref.operatorId,
            event.customer_id,
            ref.eventId,
            data.depositId,
            data.amount,
            data.currency,
            event.occurred_at,
          ],
        });
        ftd = true;
      } else {
        ftd = customer.ftd_event_id === ref.eventId;
      }
    }

    const facts: EventFacts = { effectiveAttribution: event.payload.attribution ?? attribution ?? null, ftd };
    const emits = emittedTypes(event.type, facts);
    const affiliateId = (facts.effectiveAttribution?.affiliateId as string | undefined) ?? null;
    // Every delivered type's subscribers as of the event's acceptance, and the operator's default retry
    // policy, in one round trip.
    const subscriptions = await findSubscriptions(tx, ref.operatorId, emits, affiliateId, event.accepted_at);
    const wanted = subscriptions.map((s) => ({
      endpointId: s.endpoint.id,
      eventType: s.eventType,
      retryPolicy: s.retryPolicy,
    }));
    const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, wanted);
    const { rows: marked } = await tx.query<{ affiliate_known: boolean }>({
      ...STATEMENTS.markProcessed,
      values: [ref.operatorId, ref.eventId, facts, affiliateId],
    });
    const plan = await planOf(
      tx,
      facts,
      emits,
      deliveries,
      new Map(subscriptions.map((s) => [s.endpoint.id, s.endpoint])),
    );
    return { ...plan, affiliateKnown: marked[0]?.affiliate_known ?? false };
  });
}

type PlannedEndpoint = Pick<Endpoint, 'url' | 'timeoutMs' | 'rateLimitPerSecond'>;

/**
 * What the workflow needs of each delivery. Endpoints already read in this transaction (the subscribers
 * just matched) are reused; only the others (a replay, whose endpoints were not matched again) are read.
 */
async function planOf(
  tx: PoolClient,
  facts: EventFacts,
  emits: string[],
  deliveries: Delivery[],
  known: Map<string, PlannedEndpoint>,
): Promise<AppliedEvent> {
  if (!deliveries.length) return { facts, emits, deliveries: [] };
  const endpoints = new Map(known);
  const missing = [...new Set(deliveries.map((d) => d.endpointId).filter((id) => !endpoints.has(id)))];
  if (missing.length) {
    const { rows } = await tx.query<{
      id: string;
      url: string;
      timeout_ms: number;
      rate_limit_per_second: number | null;
    }>('SELECT id, url, timeout_ms, rate_limit_per_second FROM endpoints WHERE id = ANY($1)', [missing]);
    for (const r of rows)
      endpoints.set(r.id, {
        url: r.url,
        timeoutMs: r.timeout_ms,
        rateLimitPerSecond: r.rate_limit_per_second,
      });
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

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

async function lockCustomer(tx: PoolClient, operatorId: string, customerId: string): Promise<LockedCustomer> {
  await tx.query({ ...STATEMENTS.ensureCustomer, values: [operatorId, customerId] });
  const { rows } = await tx.query<LockedCustomer>({
    ...STATEMENTS.lockCustomer,
    values: [operatorId, customerId],
  });
  return rows[0]!;
}
