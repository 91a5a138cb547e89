import { admitIntake } from '../../ingest/intake-limit.js';
import { z } from 'zod';
import { deliveriesOfEvent, type Delivery } from '../../db/deliveries.js';
import { findEvent, unparkEvent, type StoredEvent } from '../../db/events.js';
import { commissionsOfEvent, findAffiliate, type Commission } from '../../db/ledger.js';
import { toCommissionOut } from '../schemas/affiliates.js';
import { toDeliveryOut } from '../schemas/deliveries.js';
import type { Pool } from '../../db/pool.js';
import { acceptEvent, type AcceptDeps } from '../../ingest/accept-event.js';
import { pendingAttribution, type Explanation } from '../../domain/commission/explain.js';
import { isCommissionEventType } from '../../domain/commission/facts.js';
import { customerWorkflowId } from '../../domain/ids.js';
import { signalCustomerEvent } from '../../temporal/customer-signals.js';
import { AppError, errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { eventsAccepted, eventsRefused } from '../../metrics.js';
import { ErrorOut, ExternalId } from '../../contract/common.js';
import { EventAcceptedOut, EventIn, EventOut, ResettleOut } from '../../contract/events.js';

const EventParams = z.object({ id: ExternalId });

export function toEventOut(
  e: StoredEvent,
  deliveries: Delivery[] = [],
  commissions: Commission[] = [],
  waiting: Explanation[] | null = null,
): EventOut {
  const payload = e.payload as {
    brand?: string;
    attribution?: EventOut['attribution'];
    data: Record<string, unknown>;
  };
  return {
    id: e.eventId,
    type: e.type,
    occurredAt: e.occurredAt.toISOString(),
    receivedAt: e.receivedAt.toISOString(),
    brand: payload.brand ?? null,
    customerId: e.customerId,
    attribution: payload.attribution ?? null,
    effectiveAttribution: (e.facts?.effectiveAttribution as EventOut['effectiveAttribution']) ?? null,
    data: payload.data,
    status: e.status,
    processedAt: e.processedAt?.toISOString() ?? null,
    derived: { ftd: e.facts?.ftd ?? false },
    workflowId: e.workflowId,
    customerWorkflowId:
      isCommissionEventType(e.type) && e.customerId ? customerWorkflowId(e.operatorId, e.customerId) : null,
    sourceId: e.sourceId,
    deliveries: deliveries.map(toDeliveryOut),
    commissions: commissions.map(toCommissionOut),
    settlement: isCommissionEventType(e.type)
      ? {
          status: e.settlementParkedAt ? 'parked' : e.settledAt ? 'settled' : 'waiting',
          settledAt: e.settledAt?.toISOString() ?? null,
          error: e.settlementError,
        }
      : null,
    evaluation: e.evaluation ?? waiting,
  };
}

/**
 * Why an applied commission event waits unsettled, when no deal can judge it: its customer is attributed
 * to no affiliate, or to one not set up (such events wake no settlement). Null otherwise.
 */
async function whyWaiting(pool: Pool, e: StoredEvent): Promise<Explanation[] | null> {
  if (!isCommissionEventType(e.type) || e.settledAt || e.settlementParkedAt || e.status !== 'processed')
    return null;
  const affiliateId = e.facts?.effectiveAttribution?.affiliateId;
  if (typeof affiliateId !== 'string') return [pendingAttribution(null)];
  return (await findAffiliate(pool, e.operatorId, affiliateId)) ? null : [pendingAttribution(affiliateId)];
}

export function eventRoutes(deps: { pool: Pool; accept: AcceptDeps }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/events',
      summary: 'Submit an operator event',
      auth: 'operator',
      body: EventIn,
      responses: {
        202: { description: 'Recorded and its workflow started', schema: EventAcceptedOut },
        200: {
          description: 'Duplicate of an accepted event with the same body; nothing started',
          schema: EventAcceptedOut,
        },
        400: { description: 'Malformed JSON', schema: ErrorOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        409: { description: 'Same id, different body', schema: ErrorOut },
        413: { description: 'Body over the limit', schema: ErrorOut },
        415: { description: 'Not JSON', schema: ErrorOut },
        422: { description: 'Invalid event', schema: ErrorOut },
        429: {
          description:
            "Over the operator's intake limit: nothing recorded; retry after `Retry-After` seconds",
          schema: ErrorOut,
        },
        503: {
          description: 'Temporal or PostgreSQL unreachable; retry with the same body',
          schema: ErrorOut,
        },
      },
      onRefused: (err) => eventsRefused.inc({ source: 'api', reason: err.code }),
      handler: async ({ body, operator }) => {
        await admitIntake(deps.accept.pool, operator, 1);
        const result = await acceptEvent(deps.accept, operator.id, body);
        eventsAccepted.inc({ source: 'api', duplicate: String(result.duplicate) });
        return {
          status: result.duplicate ? 200 : 202,
          body: {
            eventId: body.id,
            status: 'accepted',
            duplicate: result.duplicate,
            workflowId: result.workflowId,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/events/{id}',
      summary: 'An event, its processing status, deliveries and commissions',
      auth: 'operator',
      params: EventParams,
      responses: {
        200: { description: 'The event', schema: EventOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        404: { description: 'No such event for this operator', schema: ErrorOut },
      },
      handler: async ({ params, operator }) => {
        const event = await findEvent(deps.pool, operator.id, params.id);
        if (!event) throw errors.notFound(`Event ${params.id}`);
        const deliveries = await deliveriesOfEvent(deps.pool, operator.id, event.eventId);
        const commissions = await commissionsOfEvent(deps.pool, operator.id, event.eventId);
        const waiting = await whyWaiting(deps.pool, event);
        return { status: 200, body: toEventOut(event, deliveries, commissions, waiting) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/events/{id}/resettle',
      summary: 'Settle a parked commission event again, once its deal or data is fixed',
      auth: 'operator',
      params: EventParams,
      responses: {
        202: { description: 'Unparked; its customer settles it next', schema: ResettleOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        404: { description: 'No such commission event for this operator', schema: ErrorOut },
        409: { description: 'The event is settled already', schema: ErrorOut },
        503: { description: 'Temporal unreachable; retry (the event stays unparked)', schema: ErrorOut },
      },
      handler: async ({ params, operator }) => {
        const found = await unparkEvent(deps.pool, operator.id, params.id);
        if (!found) throw errors.notFound(`Commission event ${params.id}`);
        if (found.was === 'settled')
          throw new AppError(
            409,
            'event_settled',
            `Event ${params.id} is settled: there is nothing to resettle.`,
          );
        const { customerId, facts } = found.event;
        const affiliateId = facts?.effectiveAttribution?.affiliateId;
        try {
          await signalCustomerEvent(
            await deps.accept.client(),
            {
              operatorId: operator.id,
              customerId,
              taskQueue: deps.accept.start.taskQueue,
              affiliateId: typeof affiliateId === 'string' ? affiliateId : null,
            },
            params.id,
          );
        } catch {
          throw errors.unavailable('temporal');
        }
        return {
          status: 202,
          body: {
            eventId: params.id,
            status: 'resettling' as const,
            workflowId: customerWorkflowId(operator.id, customerId),
          },
        };
      },
    }),
  ];
}
