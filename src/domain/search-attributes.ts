import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The search attributes operators filter on in the Temporal Web UI. Every key here is registered when the
 * project starts a Temporal server (and must be registered on any other cluster: see README), because
 * upserting an unregistered key fails the workflow task. Values are ids and statuses only: never
 * payloads, secrets or personal data.
 */
export const SA = {
  OperatorId: defineSearchAttributeKey('OperatorId', SearchAttributeType.KEYWORD),
  EventType: defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD),
  EventId: defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD),
  CustomerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  AffiliateId: defineSearchAttributeKey('AffiliateId', SearchAttributeType.KEYWORD),
  /** The statuses of the event's deliveries: `DeliveryStatus = 'retrying'` finds every stuck event. */
  DeliveryStatus: defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD_LIST),
  /** Endpoints whose delivery of this event is still pending. */
  EndpointId: defineSearchAttributeKey('EndpointId', SearchAttributeType.KEYWORD_LIST),
  /** The highest attempt number among the event's deliveries. */
  DeliveryAttempt: defineSearchAttributeKey('DeliveryAttempt', SearchAttributeType.INT),
  /** When the next delivery attempt is due. */
  NextAttemptAt: defineSearchAttributeKey('NextAttemptAt', SearchAttributeType.DATETIME),
  CommissionStatus: defineSearchAttributeKey('CommissionStatus', SearchAttributeType.KEYWORD),
} as const;

const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
};

/** `NAME=Type` pairs, as `temporal server start-dev --search-attribute` and the operator CLI take them. */
export function searchAttributeFlags(): string[] {
  return Object.values(SA).map((key) => `${key.name}=${CLI_TYPE_NAMES[key.type]}`);
}
