import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_TYPE_PATTERN, matchesEventType, subscribes } from '../../src/domain/matching.js';

describe('which endpoints receive an event', () => {
  it('exact types match only themselves', () => {
    assert.ok(matchesEventType(['deposit.ftd'], 'deposit.ftd'));
    assert.ok(!matchesEventType(['deposit.ftd'], 'deposit.completed'));
  });

  it('prefix.* matches the types under the prefix, not the prefix word elsewhere', () => {
    assert.ok(matchesEventType(['commission.*'], 'commission.reversed'));
    assert.ok(!matchesEventType(['commission.*'], 'commissions.x'));
    assert.ok(!matchesEventType(['deposit.*'], 'customer.registered'));
  });

  it('* matches everything', () => {
    assert.ok(matchesEventType(['*'], 'challenge.purchased'));
  });

  it('an affiliate-scoped endpoint receives only that affiliate’s events, and a disabled one nothing', () => {
    const scoped = { eventTypes: ['*'], affiliateId: 'aff-7', enabled: true };
    assert.ok(subscribes(scoped, 'deposit.ftd', 'aff-7'));
    assert.ok(!subscribes(scoped, 'deposit.ftd', 'aff-8'));
    assert.ok(!subscribes(scoped, 'deposit.ftd', null));
    assert.ok(subscribes({ ...scoped, affiliateId: null }, 'deposit.ftd', null));
    assert.ok(!subscribes({ ...scoped, enabled: false }, 'deposit.ftd', 'aff-7'));
  });

  it('validates subscription patterns', () => {
    for (const ok of ['*', 'deposit.*', 'deposit.ftd', 'funded_account.activated'])
      assert.match(ok, EVENT_TYPE_PATTERN);
    for (const bad of ['', 'deposit.', '*.ftd', 'Deposit.ftd', 'deposit..ftd', 'deposit.*.x']) {
      assert.doesNotMatch(bad, EVENT_TYPE_PATTERN);
    }
  });
});
