import { z } from 'zod';
import {
  ALL_EVENT_TYPES,
  EVENT_VERTICALS,
  isInboundEventType,
  isOperationalEventType,
  type EventType,
  type Vertical,
} from '../domain/event-types.js';
import { MACRO_NAMES, type MacroName } from '../domain/postback/macros.js';
import { postbackInputFromEvent, type PostbackEventView } from '../domain/postback/from-event.js';
import { postbackMeaning, type PostbackMeaning } from '../domain/postback/meaning.js';
import { postbackValues } from '../domain/postback/values.js';
import { webhookBody, type WebhookBody } from '../domain/webhook-payload.js';
import { webhookBodySchema } from './emitted-events.js';
import { EVENT_EXAMPLES } from './event-examples.js';

/**
 * The event catalogue receivers code against (`GET /v1/event-types`): every type an endpoint can subscribe
 * to, with the JSON Schema of the webhook body it receives (generated from the zod schemas that validate
 * events in and describe what is emitted, so it cannot drift), an example body rendered by the same code
 * that renders real deliveries, and which postback macros carry a value for it.
 */

export type EventTypeKind = 'inbound' | 'derived' | 'commission' | 'affiliate' | 'test' | 'operational';

export interface EventTypeEntry {
  type: EventType;
  kind: EventTypeKind;
  verticals: readonly Vertical[];
  description: string;
  /** Whether a `*` subscription covers it: operational types reach only endpoints that name them. */
  matchedByWildcard: boolean;
  /** JSON Schema (draft 2020-12) of the body a `format: "webhook"` endpoint receives. */
  schema: Record<string, unknown>;
  example: WebhookBody;
  /** What a postback endpoint sends for it; null when the type means nothing to a tracker. */
  postback: { meaning: PostbackMeaning | 'test'; macros: MacroName[] } | null;
}

const DESCRIPTIONS: Record<EventType, string> = {
  'customer.registered': 'A customer (player, trader) signed up; carries the attribution that binds them',
  'customer.kyc_changed': "The customer's KYC status changed (CPA deals may require `verified`)",
  'customer.status_changed': "The customer's account status changed (self-exclusion, closure, duplicate)",
  'customer.fraud_flagged': 'The operator flagged the customer; `high` rejects their pending commissions',
  'deposit.completed': 'A deposit went through',
  'deposit.chargeback': 'A deposit was charged back: its commissions are rejected or reversed',
  'deposit.refunded': 'A deposit was refunded: it stops counting towards qualification',
  'wagering.completed': 'The customer met a wagering requirement (CPA `requireWagering`)',
  'revenue.daily': "A customer's revenue for one day: what RevShare deals pay on",
  'account.opened': 'A trading account was opened (Forex)',
  'trade.closed': 'A trade was closed (Forex): what lot deals pay on (`lotSource` `trades`, the default)',
  'trading.volume_daily':
    "An account's lots for one day, per instrument (Forex): what lot deals with `lotSource` `daily_volume` pay on",
  'challenge.purchased': 'A prop-trading challenge was bought: what challenge deals pay on',
  'challenge.phase_passed': 'A trader passed a phase of their challenge',
  'challenge.failed': 'A trader failed a phase of their challenge',
  'challenge.refunded': 'A challenge purchase was refunded: its commission is reversed',
  'funded_account.activated': 'A trader who passed their challenge got a funded account',
  'deposit.ftd': "The customer's first deposit, derived by the orchestrator from a `deposit.completed`",
  'commission.accrued': 'A commission was booked, pending until its hold ends',
  'commission.approved': 'A commission was approved: its hold ended, or an operator approved it',
  'commission.rejected': 'A pending commission was rejected (a chargeback, fraud, or by hand)',
  'commission.reversed': 'An approved commission was reversed by a negative entry',
  'affiliate.created': 'An affiliate was created (`PUT /v1/affiliates/{id}`)',
  'affiliate.updated': "An affiliate's name or deal changed (`PUT /v1/affiliates/{id}`)",
  'affiliate.status_changed': 'An affiliate was suspended or made active again, with its previous status',
  'webhook.test': 'Sent by `POST /v1/endpoints/{id}/test` to that endpoint only',
  'delivery.failing': 'A delivery keeps failing and is still retrying',
  'delivery.exhausted': 'A delivery failed for good: the dead letter, to be re-driven',
  'delivery.recovered': 'A delivery announced as failing succeeded after all',
  'endpoint.disabled': 'An endpoint was disabled (it answered 410, or only failed for too long)',
  'endpoint.breaker_opened':
    "An endpoint's last attempts all failed: one delivery at a time probes it while the others wait",
  'endpoint.breaker_closed':
    'An endpoint whose breaker was open answered again: its waiting deliveries go out',
  'settlement.parked': 'A commission event that cannot be settled was set aside for a person',
};

function kindOf(type: EventType): EventTypeKind {
  if (isInboundEventType(type)) return 'inbound';
  if (type === 'deposit.ftd') return 'derived';
  if (type.startsWith('commission.')) return 'commission';
  if (type.startsWith('affiliate.')) return 'affiliate';
  if (type === 'webhook.test') return 'test';
  return 'operational';
}

/** The conversion a negative event or a commission notification names, as the example's customer made it. */
function exampleConversion(type: EventType): PostbackEventView['conversion'] {
  if (type === 'challenge.refunded') return { type: 'challenge.purchased', ftd: false, eventId: 'evt-ch-1' };
  if (type.startsWith('deposit.') || type.startsWith('commission.'))
    return { type: 'deposit.completed', ftd: true, eventId: 'evt-1' };
  return null;
}

/** The macros that carry a value when the example of `type` goes out as a postback. */
function carriedMacros(type: EventType): MacroName[] {
  const e = EVENT_EXAMPLES[type];
  const values = postbackValues(
    postbackInputFromEvent({
      eventId: e.eventId,
      deliveredType: type,
      occurredAt: e.occurredAt,
      customerId: e.customerId,
      attribution: e.attribution,
      data: e.data,
      customerCountry: 'DE',
      conversion: exampleConversion(type),
    }),
    { statusMap: {}, negativePayoutOnReversal: false },
  );
  return MACRO_NAMES.filter((m) => (values[m] ?? '') !== '');
}

function postbackOf(type: EventType): EventTypeEntry['postback'] {
  const meaning = type === 'webhook.test' ? 'test' : postbackMeaning(type);
  return meaning ? { meaning, macros: carriedMacros(type) } : null;
}

export function eventTypeEntry(type: EventType): EventTypeEntry {
  return {
    type,
    kind: kindOf(type),
    verticals: EVENT_VERTICALS[type],
    description: DESCRIPTIONS[type],
    matchedByWildcard: !isOperationalEventType(type),
    schema: z.toJSONSchema(webhookBodySchema(type), { io: 'output', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >,
    example: webhookBody(type, EVENT_EXAMPLES[type]),
    postback: postbackOf(type),
  };
}

let cached: EventTypeEntry[] | undefined;

/** Every type, in catalogue order (operators' types first); computed once per process. */
export function eventTypeCatalogue(): EventTypeEntry[] {
  cached ??= ALL_EVENT_TYPES.map(eventTypeEntry);
  return cached;
}
