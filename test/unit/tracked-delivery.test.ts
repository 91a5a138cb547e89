import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryPlan } from '../../activities/index.js';
import { resolveRetryPolicy } from '../../src/domain/retry-policy.js';
import { resume, track } from '../../workflows/tracked-delivery.js';

/**
 * A continued run takes a delivery's schedule up from what the run before handed over and from
 * PostgreSQL: the run before heard of the delivery's first failure only (no signal per failed attempt),
 * so the time it hands over may be an earlier attempt's.
 */
function reloaded(): DeliveryPlan {
  return {
    deliveryId: 'dlv_1',
    endpointId: 'ep_1',
    endpointHost: 'example.test',
    eventType: 'customer.registered',
    status: 'retrying',
    attemptCount: 5,
    policy: resolveRetryPolicy({ schedule: ['1s', '1h'], jitter: 0 }),
    timeoutMs: 10_000,
    rateLimitPerSecond: null,
    nextAttemptAt: '2026-12-03T12:00:05.000Z',
  };
}

describe('resuming a handed-over delivery', () => {
  it('waits for the stored next attempt when it is later than the handed-over one', () => {
    const d = track(reloaded());
    resume(
      d,
      { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: '2026-12-03T12:00:01.000Z' },
      '2026-12-03T12:00:05.000Z',
    );
    assert.equal(d.nextAttemptAt, '2026-12-03T12:00:05.000Z');
    assert.equal(d.status, 'retrying');
    assert.equal(d.resumed, true);
  });

  it('keeps the handed-over time when it is the later one, or when nothing is stored', () => {
    const d = track(reloaded());
    resume(
      d,
      { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: '2026-12-03T12:00:09.000Z' },
      '2026-12-03T12:00:05.000Z',
    );
    assert.equal(d.nextAttemptAt, '2026-12-03T12:00:09.000Z');
    const e = track(reloaded());
    resume(e, { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: '2026-12-03T12:00:01.000Z' }, null);
    assert.equal(e.nextAttemptAt, '2026-12-03T12:00:01.000Z');
  });

  it('a retry-now during the hand-off (nothing handed over as due) still goes at once', () => {
    const d = track(reloaded());
    resume(d, { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: null }, '2026-12-03T12:00:05.000Z');
    assert.equal(d.nextAttemptAt, null);
  });

  it('a run before the patch trusts the hand-over alone (replay)', () => {
    const d = track(reloaded());
    resume(d, { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: '2026-12-03T12:00:01.000Z' });
    assert.equal(d.nextAttemptAt, '2026-12-03T12:00:01.000Z');
  });
});
