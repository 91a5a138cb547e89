import { z } from 'zod';
import type { Delivery } from '../../db/deliveries.js';
import type { DeliveryAttempt } from '../../db/delivery-attempts.js';
import { ExternalId } from '../../contract/common.js';
import { RoutingOut } from './endpoint-filter.js';

/** Deliveries: what the API answers about them, and the mappers from the repository's rows. */

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;

export const DeliveryOut = z
  .object({
    id: z.string(),
    eventId: z.string(),
    endpointId: z.string(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number(),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    waitingFor: z
      .enum(['endpoint_breaker'])
      .nullable()
      .describe(
        "`endpoint_breaker`: the endpoint's breaker is open and this delivery waits for a probe to succeed " +
          "(no attempt spent meanwhile; see the endpoint's `breaker`); null otherwise",
      ),
    waitingSince: z.string().nullable().describe('Since when it waits for `waitingFor`'),
    routing: RoutingOut.nullable().describe(
      'Why the endpoint got the event: the filter it was judged by and every clause’s result; null when ' +
        'the endpoint had no filter (it gets every event of its types)',
    ),
    workflowId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'DeliveryOut' });

export const AttemptOut = z.object({
  number: z.number(),
  startedAt: z.string(),
  durationMs: z.number(),
  statusCode: z.number().nullable(),
  error: z.string().nullable(),
  responseBody: z
    .string()
    .nullable()
    .describe('A printable preview of the first 4 KiB; other bytes as \\xNN'),
  responseBytes: z.number().nullable().describe('Body bytes received (reading stops past 64 KiB)'),
  responseContentType: z.string().nullable(),
  request: z
    .object({
      method: z.string(),
      url: z.string().describe("As sent (a URL's password masked)"),
      headers: z
        .record(z.string(), z.string())
        .describe(
          'As sent, values that may be secrets masked: the signature keeps only its version (`v1,[masked]`), ' +
            "the endpoint's own headers read `[masked]`",
        ),
      body: z.string().nullable().describe('The first 4 KiB of the body; null when none was sent (a GET)'),
      bodyBytes: z.number(),
    })
    .nullable()
    .describe('The request as it went out; null for attempts logged before it was kept, or without one'),
});

export const DeliveryDetailOut = DeliveryOut.extend({ attempts: z.array(AttemptOut) }).meta({
  id: 'DeliveryDetailOut',
});

export const ListDeliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  endpointId: z.string().max(64).optional(),
  eventId: ExternalId.optional(),
  eventType: z.string().max(100).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional().describe('Created before this instant'),
});

/** The operator's list also filters by affiliate: deliveries to endpoints scoped to it (as its portal shows). */
export const ListOperatorDeliveriesQuery = ListDeliveriesQuery.extend({
  affiliateId: ExternalId.optional(),
});

export function toDeliveryOut(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    endpointId: d.endpointId,
    eventType: d.eventType,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastError: d.lastError,
    waitingFor: d.breakerWaitSince ? ('endpoint_breaker' as const) : null,
    waitingSince: d.breakerWaitSince?.toISOString() ?? null,
    routing: d.routing,
    workflowId: d.workflowId,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

export function toAttemptOut(a: DeliveryAttempt) {
  return {
    number: a.number,
    startedAt: a.startedAt.toISOString(),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.errorMessage ? `${a.errorClass ?? 'error'}: ${a.errorMessage}` : null,
    responseBody: a.responseBody,
    responseBytes: a.responseBytes ?? null,
    responseContentType: a.responseContentType ?? null,
    request: a.request ?? null,
  };
}
