import type { EventType } from '../domain/event-types.js';
import type { StoredEventView } from '../domain/webhook-payload.js';

/**
 * One example of every event type as the orchestrator stores it, from which `GET /v1/event-types` renders
 * the example webhook body (src/domain/webhook-payload.ts) and the postback macros that carry a value. A
 * unit test checks each against its own published schema, so an example cannot drift from the contract.
 */

const at = '2026-11-27T10:05:00.000Z';
const customer = {
  occurredAt: at,
  brand: 'casino-x',
  customerId: 'player-42',
  attribution: { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'spring-promo' } },
};

/** An operator's event of `type` with `data`, as sent by the operator. */
const sent = (eventId: string, type: EventType, data: Record<string, unknown>): StoredEventView => ({
  ...customer,
  eventId,
  type,
  data,
});

/** An event the orchestrator emits itself (`sys~...`), about a customer or about its own machinery. */
const emitted = (
  key: string,
  type: EventType,
  data: Record<string, unknown>,
  about: 'customer' | 'affiliate' | 'machinery',
): StoredEventView => ({
  ...(about === 'customer'
    ? customer
    : {
        occurredAt: at,
        brand: null,
        customerId: '',
        attribution: about === 'affiliate' ? { affiliateId: 'aff-7' } : null,
      }),
  eventId: `sys~${key}`,
  type,
  data,
});

const commission = (status: string, extra: Record<string, unknown> = {}) => ({
  id: 'com_8mR2kQ4xT1vZ7pLc',
  commissionId: 'com_8mR2kQ4xT1vZ7pLc',
  affiliateId: 'aff-7',
  customerId: 'player-42',
  eventId: 'evt-1',
  conversionEventId: 'evt-1',
  model: 'cpa',
  rule: 'cpa',
  amount: '100.00',
  currency: 'USD',
  status,
  holdUntil: '2026-12-27T10:05:00.000Z',
  reversalOf: null,
  reason: null,
  createdAt: at,
  ...extra,
});

const affiliate = { affiliateId: 'aff-7', name: 'Spring Media', dealModel: 'cpa' };

const delivery = {
  endpointId: 'ep_3nV8qL2wX5kR9tYb',
  deliveryId: 'dlv_6hJ4pM1sZ8cW2nQf',
  eventId: 'evt-1',
  eventType: 'deposit.ftd',
};

const deposit = { depositId: 'dep-1', amount: '50.00', currency: 'EUR' };

export const EVENT_EXAMPLES: Record<EventType, StoredEventView> = {
  'customer.registered': sent('evt-demo-1', 'customer.registered', { country: 'DE' }),
  'customer.kyc_changed': sent('evt-kyc-1', 'customer.kyc_changed', { kycStatus: 'verified' }),
  'customer.status_changed': sent('evt-status-1', 'customer.status_changed', {
    status: 'self_excluded',
    reason: 'Player request',
  }),
  'customer.fraud_flagged': sent('evt-fraud-1', 'customer.fraud_flagged', {
    flag: 'multi-account',
    severity: 'high',
  }),
  'deposit.completed': sent('evt-1', 'deposit.completed', deposit),
  'deposit.chargeback': sent('evt-cb-1', 'deposit.chargeback', { ...deposit, reason: 'Card dispute' }),
  'deposit.refunded': sent('evt-refund-1', 'deposit.refunded', deposit),
  'wagering.completed': sent('evt-wager-1', 'wagering.completed', { requirementId: 'wr-1' }),
  'revenue.daily': sent('evt-rev-2026-11-26', 'revenue.daily', {
    date: '2026-11-26',
    ggr: '120.00',
    bonuses: '20.00',
    fees: '5.00',
    ngr: '95.00',
    currency: 'EUR',
  }),
  'account.opened': sent('evt-acct-1', 'account.opened', { accountId: 'mt5-1001' }),
  'trade.closed': sent('evt-trade-1', 'trade.closed', {
    tradeId: 't-77',
    accountId: 'mt5-1001',
    instrument: 'XAUUSD',
    lots: '1.50',
  }),
  'trading.volume_daily': sent('evt-vol-mt5-1001-2026-11-26', 'trading.volume_daily', {
    accountId: 'mt5-1001',
    date: '2026-11-26',
    lots: { EURUSD: '12.50', XAUUSD: '3.00' },
    volume: '1250000.00',
    currency: 'USD',
  }),
  'challenge.purchased': sent('evt-ch-1', 'challenge.purchased', {
    challengeId: 'ch-1',
    planId: '100k-2step',
    price: '499.00',
    currency: 'USD',
  }),
  'challenge.phase_passed': sent('evt-ch-p1', 'challenge.phase_passed', { challengeId: 'ch-1', phase: 1 }),
  'challenge.failed': sent('evt-ch-f2', 'challenge.failed', { challengeId: 'ch-1', phase: 2 }),
  'challenge.refunded': sent('evt-ch-r1', 'challenge.refunded', {
    challengeId: 'ch-1',
    amount: '499.00',
    currency: 'USD',
  }),
  'funded_account.activated': sent('evt-funded-1', 'funded_account.activated', {
    challengeId: 'ch-1',
    accountId: 'funded-2001',
  }),
  // Delivered from the `deposit.completed` it derives from: the stored event is that deposit.
  'deposit.ftd': sent('evt-1', 'deposit.completed', deposit),
  'commission.accrued': emitted(
    'com_8mR2kQ4xT1vZ7pLc~accrued',
    'commission.accrued',
    commission('pending'),
    'customer',
  ),
  'commission.approved': emitted(
    'com_8mR2kQ4xT1vZ7pLc~approved',
    'commission.approved',
    commission('approved', { eventId: null }),
    'customer',
  ),
  'commission.rejected': emitted(
    'com_8mR2kQ4xT1vZ7pLc~rejected',
    'commission.rejected',
    commission('rejected', { eventId: null, reason: 'duplicate player' }),
    'customer',
  ),
  'commission.reversed': emitted(
    'com_2dF7hK9mP3sW6xNa~reversed',
    'commission.reversed',
    commission('reversed', {
      id: 'com_2dF7hK9mP3sW6xNa',
      eventId: 'evt-cb-1',
      amount: '-100.00',
      reversalOf: 'com_8mR2kQ4xT1vZ7pLc',
      reason: 'chargeback',
    }),
    'customer',
  ),
  'affiliate.created': emitted(
    'affiliate.created~aff-7~1795774146000000',
    'affiliate.created',
    { ...affiliate, status: 'active' },
    'affiliate',
  ),
  'affiliate.updated': emitted(
    'affiliate.updated~aff-7~1795860546000000',
    'affiliate.updated',
    { ...affiliate, status: 'active', changed: ['deal'] },
    'affiliate',
  ),
  'affiliate.status_changed': emitted(
    'affiliate.status_changed~aff-7~1795946946000000',
    'affiliate.status_changed',
    { ...affiliate, status: 'suspended', previousStatus: 'active' },
    'affiliate',
  ),
  'webhook.test': emitted(
    'webhook.test~ep_3nV8qL2wX5kR9tYb~1',
    'webhook.test',
    { endpointId: delivery.endpointId, message: 'A test event from affiliate-hooks' },
    'machinery',
  ),
  'delivery.failing': emitted(
    'delivery.failing~dlv_6hJ4pM1sZ8cW2nQf~0',
    'delivery.failing',
    { ...delivery, attempt: 4, lastError: 'HTTP 503', nextAttemptAt: '2026-11-27T12:05:00.000Z' },
    'machinery',
  ),
  'delivery.exhausted': emitted(
    'delivery.exhausted~dlv_6hJ4pM1sZ8cW2nQf~0',
    'delivery.exhausted',
    { ...delivery, attempt: 8, lastError: 'HTTP 503' },
    'machinery',
  ),
  'delivery.recovered': emitted(
    'delivery.recovered~dlv_6hJ4pM1sZ8cW2nQf~0',
    'delivery.recovered',
    { ...delivery, attempt: 5 },
    'machinery',
  ),
  'endpoint.disabled': emitted(
    'endpoint.disabled~ep_3nV8qL2wX5kR9tYb~1795774146000',
    'endpoint.disabled',
    { endpointId: delivery.endpointId, reason: 'gone' },
    'machinery',
  ),
  'endpoint.breaker_opened': emitted(
    'endpoint.breaker_opened~ep_3nV8qL2wX5kR9tYb~1795774146000',
    'endpoint.breaker_opened',
    { endpointId: delivery.endpointId, nextProbeAt: '2026-11-27T10:06:00.000Z' },
    'machinery',
  ),
  'endpoint.breaker_closed': emitted(
    'endpoint.breaker_closed~ep_3nV8qL2wX5kR9tYb~1795774746000',
    'endpoint.breaker_closed',
    { endpointId: delivery.endpointId },
    'machinery',
  ),
  'settlement.parked': emitted(
    'settlement.parked~evt-ch-9',
    'settlement.parked',
    {
      eventId: 'evt-ch-9',
      eventType: 'challenge.purchased',
      customerId: 'player-42',
      error: 'occurredAt 9999-12-31T23:59:59Z is past what a settlement can book',
      parkedAt: at,
    },
    'machinery',
  ),
};
