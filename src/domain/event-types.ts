/**
 * The version-1 event catalogue: the types operators send, the types the orchestrator derives or emits,
 * and which vertical each belongs to. Pure data, safe to import from workflows.
 */

export const INBOUND_EVENT_TYPES = [
  'customer.registered',
  'customer.kyc_changed',
  'customer.status_changed',
  'customer.fraud_flagged',
  'deposit.completed',
  'deposit.chargeback',
  'deposit.refunded',
  'wagering.completed',
  'revenue.daily',
  'account.opened',
  'trade.closed',
  'trading.volume_daily',
  'challenge.purchased',
  'challenge.phase_passed',
  'challenge.failed',
  'challenge.refunded',
  'funded_account.activated',
] as const;

export type InboundEventType = (typeof INBOUND_EVENT_TYPES)[number];

/** Types the orchestrator itself emits to subscribers; operators cannot submit them. */
export const EMITTED_EVENT_TYPES = [
  'deposit.ftd',
  'commission.accrued',
  'commission.approved',
  'commission.rejected',
  'commission.reversed',
  'affiliate.created',
  'affiliate.updated',
  'affiliate.status_changed',
  'webhook.test',
  'delivery.failing',
  'delivery.exhausted',
  'delivery.recovered',
  'endpoint.disabled',
  'endpoint.breaker_opened',
  'endpoint.breaker_closed',
  'settlement.parked',
] as const;

/**
 * Operational events about the machinery itself (deliveries, endpoints, a settlement that parked an
 * event): delivering one never emits another, and `*` never matches one.
 */
export const OPERATIONAL_EVENT_TYPES = [
  'delivery.failing',
  'delivery.exhausted',
  'delivery.recovered',
  'endpoint.disabled',
  'endpoint.breaker_opened',
  'endpoint.breaker_closed',
  'settlement.parked',
] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

export function isOperationalEventType(type: string): type is OperationalEventType {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(type);
}

export type EmittedEventType = (typeof EMITTED_EVENT_TYPES)[number];

export type EventType = InboundEventType | EmittedEventType;

export const ALL_EVENT_TYPES: readonly EventType[] = [...INBOUND_EVENT_TYPES, ...EMITTED_EVENT_TYPES];

export type Vertical = 'all' | 'igaming' | 'forex' | 'prop' | 'platform';

export const EVENT_VERTICALS: Record<EventType, readonly Vertical[]> = {
  'customer.registered': ['all'],
  'customer.kyc_changed': ['all'],
  'customer.status_changed': ['all'],
  'customer.fraud_flagged': ['all'],
  'deposit.completed': ['igaming', 'forex'],
  'deposit.chargeback': ['igaming', 'forex'],
  'deposit.refunded': ['igaming', 'forex'],
  'wagering.completed': ['igaming'],
  'revenue.daily': ['igaming'],
  'account.opened': ['forex'],
  'trade.closed': ['forex'],
  'trading.volume_daily': ['forex'],
  'challenge.purchased': ['prop'],
  'challenge.phase_passed': ['prop'],
  'challenge.failed': ['prop'],
  'challenge.refunded': ['prop'],
  'funded_account.activated': ['prop'],
  'deposit.ftd': ['igaming', 'forex'],
  'commission.accrued': ['platform'],
  'commission.approved': ['platform'],
  'commission.rejected': ['platform'],
  'commission.reversed': ['platform'],
  'affiliate.created': ['platform'],
  'affiliate.updated': ['platform'],
  'affiliate.status_changed': ['platform'],
  'webhook.test': ['platform'],
  'delivery.failing': ['platform'],
  'delivery.exhausted': ['platform'],
  'delivery.recovered': ['platform'],
  'endpoint.disabled': ['platform'],
  'endpoint.breaker_opened': ['platform'],
  'endpoint.breaker_closed': ['platform'],
  'settlement.parked': ['platform'],
};

export function isInboundEventType(type: string): type is InboundEventType {
  return (INBOUND_EVENT_TYPES as readonly string[]).includes(type);
}

/** The types an event is delivered as: its own, plus `deposit.ftd` when a deposit is the customer's first. */
export function emittedTypes(type: string, facts: { ftd: boolean }): string[] {
  return facts.ftd && type === 'deposit.completed' ? [type, 'deposit.ftd'] : [type];
}
