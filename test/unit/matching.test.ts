import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ALL_EVENT_TYPES,
  isOperationalEventType,
  OPERATIONAL_EVENT_TYPES,
} from '../../src/domain/event-types.js';
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

  it('* matches every type but the operational ones', () => {
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

describe('operational events go only where asked for', () => {
  const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
  const operational = fc.constantFrom(...OPERATIONAL_EVENT_TYPES);
  const other = fc.constantFrom(...ALL_EVENT_TYPES.filter((t) => !isOperationalEventType(t)));
  const pattern = fc.oneof(
    fc.constant('*'),
    fc.constantFrom(...ALL_EVENT_TYPES),
    fc.constantFrom(...ALL_EVENT_TYPES).map((t) => `${t.split('.')[0]}.*`),
    fc.tuple(word, word).map(([a, b]) => `${a}.${b}`),
    word.map((a) => `${a}.*`),
  );

  it('* never matches an operational type, whatever else an endpoint names', () => {
    fc.assert(
      fc.property(operational, fc.array(pattern, { maxLength: 4 }), (type, extra) => {
        const named = extra.some((p) => p === type || p === `${type.split('.')[0]}.*`);
        assert.equal(matchesEventType(['*', ...extra], type), named);
      }),
    );
  });

  it('the exact type, delivery.* or endpoint.* do match an operational type', () => {
    fc.assert(
      fc.property(operational, (type) => {
        assert.ok(matchesEventType([type], type));
        assert.ok(matchesEventType([`${type.split('.')[0]}.*`], type));
        assert.ok(subscribes({ eventTypes: [type], affiliateId: null, enabled: true }, type, null));
        assert.ok(!subscribes({ eventTypes: ['*'], affiliateId: null, enabled: true }, type, null));
      }),
    );
  });

  it('* still matches every other type', () => {
    fc.assert(fc.property(other, (type) => assert.ok(matchesEventType(['*'], type))));
  });
});
