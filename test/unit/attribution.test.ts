import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attributedAffiliateId,
  bindingOf,
  effectiveAttribution,
  isBindingRegistration,
  needsBinding,
  type AttributableEvent,
} from '../../src/domain/attribution.js';

const at = new Date('2026-01-02T03:04:05.678Z');
const registration = (attribution?: Record<string, unknown>, data: Record<string, unknown> = {}) =>
  ({
    eventId: 'reg-1',
    type: 'customer.registered',
    occurredAt: at,
    payload: { ...(attribution ? { attribution } : {}), data },
  }) satisfies AttributableEvent;

describe('attribution inheritance: which affiliate an event is credited to', () => {
  it('only an inbound event of a customer not yet bound looks for its binding registration', () => {
    assert.equal(needsBinding(true, null), true);
    assert.equal(needsBinding(true, { affiliateId: 'aff-1' }), false);
    // Operational events belong to no customer: they bind nothing, even when "unbound".
    assert.equal(needsBinding(false, null), false);
  });

  it('a registration carrying an attribution binds its customer itself; other events do not', () => {
    assert.equal(isBindingRegistration(registration({ affiliateId: 'aff-1' })), true);
    assert.equal(isBindingRegistration(registration()), false);
    const deposit = { ...registration({ affiliateId: 'aff-1' }), type: 'deposit.completed' };
    assert.equal(isBindingRegistration(deposit), false);
  });

  it('binds the customer to the registration: its attribution, id, country and time', () => {
    assert.deepEqual(bindingOf(registration({ affiliateId: 'aff-1', clickId: 'c-9' }, { country: 'MT' })), {
      attribution: { affiliateId: 'aff-1', clickId: 'c-9' },
      byEventId: 'reg-1',
      country: 'MT',
      registeredAt: at,
    });
  });

  it('a registration without a country binds a null country', () => {
    assert.equal(bindingOf(registration({ affiliateId: 'aff-1' }))?.country, null);
  });

  it('no registration, or one without an attribution, binds nothing', () => {
    assert.equal(bindingOf(null), null);
    assert.equal(bindingOf(undefined), null);
    assert.equal(bindingOf(registration()), null);
  });

  it("an event's own attribution wins over its customer's, which is inherited otherwise", () => {
    const own = { affiliateId: 'aff-own' };
    const customer = { affiliateId: 'aff-customer' };
    assert.deepEqual(effectiveAttribution(own, customer), own);
    assert.deepEqual(effectiveAttribution(undefined, customer), customer);
    assert.deepEqual(effectiveAttribution(null, customer), customer);
    assert.equal(effectiveAttribution(undefined, null), null);
  });

  it('names the affiliate of an attribution only when it is a string', () => {
    assert.equal(attributedAffiliateId({ affiliateId: 'aff-1' }), 'aff-1');
    assert.equal(attributedAffiliateId({ clickId: 'c' }), null);
    assert.equal(attributedAffiliateId(null), null);
  });
});
