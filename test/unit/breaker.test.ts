import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  breakerWait,
  DEFAULT_BREAKER,
  probeBackoffMs,
  scheduleSpanMs,
  type BreakerSettings,
} from '../../src/domain/breaker.js';
import { resolveRetryPolicy } from '../../src/domain/retry-policy.js';

const S: BreakerSettings = { failureThreshold: 5, probeBaseMs: 1_000, probeMaxMs: 4_000, recheckMs: 60_000 };
const at = (ms: number) => new Date(Date.UTC(2026, 11, 4) + ms);

describe('endpoint breaker', () => {
  it('probes first after the base wait, doubling after each failed probe up to the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 50].map((n) => probeBackoffMs(S, n)),
      [1_000, 2_000, 4_000, 4_000, 4_000, 4_000],
    );
    assert.equal(probeBackoffMs(DEFAULT_BREAKER, 0), 30_000);
    assert.equal(probeBackoffMs(DEFAULT_BREAKER, 100), 600_000);
  });

  it("measures a schedule's whole time at its longest jitter: the default is 27 h 35 min 5 s plus 20 %", () => {
    const span = scheduleSpanMs(resolveRetryPolicy(null));
    assert.equal(span, Math.round((27 * 3600 + 35 * 60 + 5) * 1000 * 1.2));
    assert.equal(scheduleSpanMs(resolveRetryPolicy({ schedule: ['1s', '2s'], jitter: 0 })), 3_000);
    const exp = resolveRetryPolicy({
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '4s',
      maximumAttempts: 5,
      jitter: 0,
    });
    assert.equal(scheduleSpanMs(exp), 1_000 + 2_000 + 4_000 + 4_000);
  });

  it('has the delivery named to probe wait until the probe is due, and the others until their recheck', () => {
    const deadline = at(3_600_000);
    assert.deepEqual(breakerWait(S, { designated: true, probeAt: at(2_500), deadline, now: at(0) }), {
      end: false,
      waitMs: 2_500,
    });
    assert.deepEqual(breakerWait(S, { designated: false, probeAt: at(2_500), deadline, now: at(0) }), {
      end: false,
      waitMs: 60_000,
    });
  });

  it("never keeps a delivery past its schedule's end, and ends it there", () => {
    const deadline = at(10_000);
    assert.deepEqual(breakerWait(S, { designated: false, probeAt: null, deadline, now: at(0) }), {
      end: false,
      waitMs: 10_000,
    });
    assert.deepEqual(breakerWait(S, { designated: true, probeAt: at(20_000), deadline, now: at(0) }), {
      end: false,
      waitMs: 10_000,
    });
    assert.deepEqual(breakerWait(S, { designated: false, probeAt: null, deadline, now: at(10_000) }), {
      end: true,
    });
  });
});
