import { ApplicationFailure } from '@temporalio/common';
import { ensureDeliveries, type Delivery } from '../src/db/deliveries.js';
import { deliveryPolicy, findSubscribedEndpoints, operatorRetryPolicy } from '../src/db/endpoints.js';
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
}

export interface AppliedEvent {
  facts: EventFacts;
  /** The types this event is delivered as: its own, plus `deposit.ftd` for a first deposit. */
  emits: string[];
  deliveries: DeliveryPlan[];
}

interface LockedEvent {
  type: string;
  customer_id: string;
  occurred_at: Date;
  payload: { attribution?: Record<string, unknown>; data: Record<string, unknown> };
  status: string;
  facts: EventFacts | null;
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
    const { rows } = await tx.query<LockedEvent>(
      `SELECT type, customer_id, occurred_at, payload, status, facts FROM events
        WHERE operator_id = $1 AND event_id = $2 FOR UPDATE`,
      [ref.operatorId, ref.eventId],
    );
    const event = rows[0];
    if (!event) {
      throw ApplicationFailure.nonRetryable(`event ${ref.eventId} is not recorded`, 'EventNotFoundError');
    }
    if (event.status === 'processed' && event.facts) {
      // Replayed, or a later run of the workflow (redrive): what was decided the first time stands.
      const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, []);
      return planOf(tx, event.facts, emittedTypes(event.type, event.facts), deliveries);
    }

    // Events the orchestrator emits itself (operational events) belong to no customer.
    const inbound = isInboundEventType(event.type);
    const customer = inbound
      ? await lockCustomer(tx, ref.operatorId, event.customer_id)
      : { attribution: null, ftd_event_id: null };
    let attribution = customer.attribution;
    let ftd = false;

    if (event.type === 'customer.registered' && !attribution && event.payload.attribution) {
      attribution = event.payload.attribution;
      await tx.query(
        `UPDATE customers SET attribution = $3, attributed_by_event_id = $4, country = $5, registered_at = $6,
                updated_at = now()
          WHERE operator_id = $1 AND customer_id = $2`,
        [
          ref.operatorId,
          event.customer_id,
          attribution,
          ref.eventId,
          event.payload.data.country,
          event.occurred_at,
        ],
      );
    }

    if (event.type === 'deposit.completed') {
      if (customer.ftd_event_id === null) {
        const data = event.payload.data;
        await tx.query(
          `UPDATE customers SET ftd_event_id = $3, ftd_deposit_id = $4, ftd_amount = $5, ftd_currency = $6,
                  ftd_at = $7, updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
          [
            ref.operatorId,
            event.customer_id,
            ref.eventId,
            data.depositId,
            data.amount,
            data.currency,
            event.occurred_at,
          ],
        );
        ftd = true;
      } else {
        ftd = customer.ftd_event_id === ref.eventId;
      }
    }

    const facts: EventFacts = { effectiveAttribution: event.payload.attribution ?? attribution ?? null, ftd };
    const emits = emittedTypes(event.type, facts);
    const affiliateId = (facts.effectiveAttribution?.affiliateId as string | undefined) ?? null;
    const operatorDefault = await operatorRetryPolicy(tx, ref.operatorId);
    const wanted = [];
    for (const type of emits) {
      for (const endpoint of await findSubscribedEndpoints(tx, ref.operatorId, type, affiliateId)) {
        wanted.push({
          endpointId: endpoint.id,
          eventType: type,
          retryPolicy: deliveryPolicy(endpoint, operatorDefault),
        });
      }
    }
    const deliveries = await ensureDeliveries(tx, ref.operatorId, ref.eventId, ref.workflowId, wanted);
    await tx.query(
      `UPDATE events SET status = 'processed', processed_at = now(), facts = $3,
              workflow_started_at = coalesce(workflow_started_at, now())
        WHERE operator_id = $1 AND event_id = $2`,
      [ref.operatorId, ref.eventId, facts],
    );
    return planOf(tx, facts, emits, deliveries);
  });
}

async function planOf(
  tx: PoolClient,
  facts: EventFacts,
  emits: string[],
  deliveries: Delivery[],
): Promise<AppliedEvent> {
  if (!deliveries.length) return { facts, emits, deliveries: [] };
  const { rows } = await tx.query<{
    id: string;
    url: string;
    timeout_ms: number;
    rate_limit_per_second: number | null;
  }>('SELECT id, url, timeout_ms, rate_limit_per_second FROM endpoints WHERE id = ANY($1)', [
    deliveries.map((d) => d.endpointId),
  ]);
  const endpoints = new Map(rows.map((r) => [r.id, r]));
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
        timeoutMs: endpoint.timeout_ms,
        rateLimitPerSecond: endpoint.rate_limit_per_second,
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
  await tx.query('INSERT INTO customers (operator_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    operatorId,
    customerId,
  ]);
  const { rows } = await tx.query<LockedCustomer>(
    'SELECT attribution, ftd_event_id FROM customers WHERE operator_id = $1 AND customer_id = $2 FOR UPDATE',
    [operatorId, customerId],
  );
  return rows[0]!;
}
