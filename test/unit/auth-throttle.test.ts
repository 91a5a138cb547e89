import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailureThrottle } from '../../src/api/auth-throttle.js';

describe('failed authentications per address', () => {
  it('when an address fails max times in a window, then it waits out the window; others are untouched', () => {
    let now = 1_000_000;
    const t = new AuthFailureThrottle({ max: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 2; i++) t.fail('10.0.0.1');
    assert.equal(t.blockedFor('10.0.0.1'), 0);
    t.fail('10.0.0.1');
    assert.equal(t.blockedFor('10.0.0.1'), 60);
    assert.equal(t.blockedFor('10.0.0.2'), 0);
    now += 45_500;
    assert.equal(t.blockedFor('10.0.0.1'), 15);
    now += 14_500;
    assert.equal(t.blockedFor('10.0.0.1'), 0, 'a new window starts clean');
  });

  it('tracks at most maxAddresses, dropping the oldest', () => {
    const t = new AuthFailureThrottle({ max: 1, maxAddresses: 2 });
    t.fail('a');
    t.fail('b');
    t.fail('c');
    assert.equal(t.blockedFor('a'), 0);
    assert.ok(t.blockedFor('b') > 0 && t.blockedFor('c') > 0);
  });
});
