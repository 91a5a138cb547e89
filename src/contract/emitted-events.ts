import { z } from 'zod';
import type { EmittedEventType, EventType } from '../domain/event-types.js';
import { COMMISSION_RULES } from '../domain/commission/deals.js';
import { EVENT_DATA_SCHEMAS } from './events.js';

/**
 * The `data.details` of each event type the orchestrator emits itself (src/domain/event-types.ts), as its
 * endpoints receive them: the wire shape, documented in the OpenAPI document's `webhooks` and in
 * docs/events.md. Operators cannot send these types. More fields may be added; none is removed within v1.
 */

const id = (what: string) => z.string().describe(what);
const timestamp = (what: string) => z.string().describe(`${what}, RFC 3339 UTC`);

const Commission = z.object({
  id: id('The entry this notification is about: the commission (`com_...`), or its reversal entry'),
  commissionId: id('The commission (`com_...`), as `GET /v1/commissions/{id}` shows it'),
  affiliateId: id('The affiliate it is paid to'),
  customerId: id("The operator's customer who earned it"),
  eventId: id('The event that caused this transition; null for an approval or a decision by hand').nullable(),
  conversionEventId: id('The event that earned the commission: the transaction id a tracker knows'),
  model: z.enum(['cpa', 'revshare', 'hybrid', 'lot', 'challenge']).describe('The deal model that paid it'),
  rule: z.enum(COMMISSION_RULES).describe('Which rule of the deal paid it'),
  amount: z.string().describe('Decimal string; negative on a reversal'),
  currency: z.string().describe('ISO 4217'),
  status: z.enum(['pending', 'approved', 'rejected', 'reversed']),
  holdUntil: timestamp('When the hold ends and it is approved').nullable(),
  reversalOf: id('On a reversal entry, the commission it reverses').nullable(),
  reason: z
    .string()
    .describe('Why it was rejected or reversed (`chargeback`, or the words given by hand)')
    .nullable(),
  createdAt: timestamp('When this entry was booked'),
});

const AffiliateStatus = z.enum(['active', 'suspended']);
const Affiliate = {
  affiliateId: id('The affiliate, as `GET /v1/affiliates/{id}` shows it'),
  name: z.string().describe('Its name'),
  status: AffiliateStatus.describe('Its status after the change'),
  dealModel: z.enum(['cpa', 'revshare', 'hybrid', 'lot', 'challenge']).describe('The model of its deal'),
};

const DeliveryRef = {
  endpointId: id('The endpoint (`ep_...`)'),
  deliveryId: id('The delivery (`dlv_...`): `GET /v1/deliveries/{id}`'),
  eventId: id('The event being delivered'),
  eventType: id('Its delivered type'),
  attempt: z.int().describe('The attempt this is about, from 1'),
};

/** Per emitted type, the `details` an endpoint receives. */
export const EMITTED_EVENT_DATA_SCHEMAS = {
  'deposit.ftd': EVENT_DATA_SCHEMAS['deposit.completed'].describe(
    "The customer's first deposit: the `deposit.completed` it derives from, as the operator sent it",
  ),
  'commission.accrued': Commission.describe('A commission was booked, pending until its hold ends'),
  'commission.approved': Commission.describe('A commission was approved: its hold ended, or by hand'),
  'commission.rejected': Commission.describe('A pending commission was rejected'),
  'commission.reversed': Commission.describe('An approved commission was reversed by a negative entry'),
  'affiliate.created': z.object(Affiliate).describe('`PUT /v1/affiliates/{id}` created an affiliate'),
  'affiliate.updated': z
    .object({
      ...Affiliate,
      changed: z
        .array(z.enum(['name', 'status', 'deal']))
        .describe('What the PUT changed: `status` too when it changed along with the name or the deal'),
    })
    .describe(
      "`PUT /v1/affiliates/{id}` changed an affiliate's name or deal (a status change alone does not)",
    ),
  'affiliate.status_changed': z
    .object({ ...Affiliate, previousStatus: AffiliateStatus.describe('Its status before the change') })
    .describe('`PUT /v1/affiliates/{id}` moved an affiliate between `active` and `suspended`'),
  'webhook.test': z
    .object({ endpointId: id('The endpoint tested'), message: z.string() })
    .describe('Sent by `POST /v1/endpoints/{id}/test` to that endpoint only'),
  'delivery.failing': z
    .object({
      ...DeliveryRef,
      lastError: z.string().optional().describe('What the last attempt got'),
      nextAttemptAt: timestamp('When it is attempted next'),
    })
    .describe('A delivery has failed `DELIVERY_FAILING_AFTER_ATTEMPTS` attempts and keeps retrying'),
  'delivery.exhausted': z
    .object({ ...DeliveryRef, lastError: z.string().optional().describe('What the last attempt got') })
    .describe('A delivery failed for good (the dead letter): its policy is spent or the receiver refused it'),
  'delivery.recovered': z.object(DeliveryRef).describe('A delivery announced as failing succeeded after all'),
  'endpoint.disabled': z
    .object({
      endpointId: id('The endpoint disabled'),
      reason: z
        .enum(['gone', 'failing'])
        .describe('`gone`: it answered 410; `failing`: only failures for `ENDPOINT_DISABLE_AFTER`'),
      failingSince: timestamp('With `failing`: since when every attempt failed').optional(),
    })
    .describe('An endpoint was disabled; its pending retries end `cancelled`'),
  'endpoint.breaker_opened': z
    .object({
      endpointId: id('The endpoint'),
      nextProbeAt: timestamp('The earliest time one of its deliveries probes it'),
    })
    .describe(
      'An endpoint failed `BREAKER_FAILURE_THRESHOLD` attempts in a row: one delivery at a time probes it while the others wait, spending no attempt',
    ),
  'endpoint.breaker_closed': z
    .object({ endpointId: id('The endpoint') })
    .describe(
      'An attempt to an endpoint whose breaker was open succeeded: its waiting deliveries go out again',
    ),
  'settlement.parked': z
    .object({
      eventId: id('The event set aside'),
      eventType: id('Its type'),
      customerId: id('Its customer'),
      error: z.string().describe('Why it cannot be settled'),
      parkedAt: timestamp('When it was parked'),
    })
    .describe(
      'A commission event that cannot be settled was set aside: `POST /v1/events/{id}/resettle` takes it back',
    ),
} as const satisfies Record<EmittedEventType, z.ZodType>;

/** The `data.details` of every type an endpoint can receive: what operators send, and what is emitted. */
export const EVENT_DETAILS_SCHEMAS: Record<EventType, z.ZodType> = {
  ...EVENT_DATA_SCHEMAS,
  ...EMITTED_EVENT_DATA_SCHEMAS,
};

/**
 * The JSON body a `format: "webhook"` endpoint receives for `type` (src/domain/webhook-payload.ts): the
 * envelope is the same for every type, `details` is the type's own.
 */
export function webhookBodySchema(type: EventType) {
  return z.object({
    type: z.literal(type),
    timestamp: z.string().describe('When the event happened, RFC 3339 UTC'),
    data: z.object({
      eventId: z.string().describe('The event this delivery is of'),
      sourceType: z.string().describe('The type of that event (`deposit.completed` for a `deposit.ftd`)'),
      occurredAt: z.string().describe('When it happened, RFC 3339 UTC'),
      brand: z.string().nullable(),
      customerId: z.string(),
      attribution: z
        .object({
          affiliateId: z.string(),
          clickId: z.string().optional(),
          subIds: z.record(z.string(), z.string()).optional(),
        })
        .nullable()
        .describe(
          'The attribution the orchestrator resolved: sent with the event, or inherited from the registration',
        ),
      details: EVENT_DETAILS_SCHEMAS[type],
    }),
  });
}
