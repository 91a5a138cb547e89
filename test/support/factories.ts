import { randomBase62 } from '../../src/db/new-id.js';

/** Valid version-1 events with unique ids; override what a test is about. */
export function uniqueId(prefix = 'evt'): string {
  return `${prefix}-${randomBase62(12)}`;
}

export function registration(customerId: string, overrides: Record<string, unknown> = {}) {
  return {
    id: uniqueId(),
    type: 'customer.registered',
    occurredAt: '2026-11-27T10:00:00Z',
    brand: 'casino-x',
    customerId,
    attribution: { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'fb' } },
    data: { country: 'DE' },
    ...overrides,
  };
}

export function deposit(customerId: string, overrides: Record<string, unknown> = {}) {
  return {
    id: uniqueId(),
    type: 'deposit.completed',
    occurredAt: '2026-11-27T10:05:00Z',
    customerId,
    data: { depositId: uniqueId('dep'), amount: '50.00', currency: 'EUR' },
    ...overrides,
  };
}

/** A tracker's GET postback mapping (`?event=ftd&player=..&amount=..&txid=..&aff=..&country=..`). */
export const POSTBACK_MAPPING = {
  fieldMap: {
    event: 'type',
    player: 'customerId',
    amount: 'data.amount',
    txid: ['id', 'data.depositId'],
    aff: 'attribution.affiliateId',
    country: 'data.country',
  },
  statusMap: { ftd: 'deposit.completed', reg: 'customer.registered' },
  defaults: { 'data.currency': 'EUR', brand: 'casino-x' },
};
