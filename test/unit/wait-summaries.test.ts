import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AttemptFailure } from '../../activities/index.js';
import { resolveRetryPolicy } from '../../src/domain/retry-policy.js';
import { deliveryActivityOptions, handOver, resume, track } from '../../workflows/tracked-delivery.js';
import {
  deliveryActivitySummary,
  failureCause,
  firstAttemptSummary,
  holdTimerSummary,
  retryTimerSummary,
} from '../../workflows/wait-summaries.js';

/**
 * Every wait of a workflow says in the Web UI what it waits for: the timer before a delivery's next attempt
 * names the delivery, what its last attempt ran into and which attempt comes next; a hold timer names the
 * hold and what its end does. Summaries are recorded in the history, so nothing secret may reach them.
 */
const subject = { eventType: 'customer.registered', endpointHost: 'hooks.example:8443', endpointId: 'ep_1' };

describe('wait summaries', () => {
  it('names the delivery, the HTTP status and the next attempt of the schedule on a retry timer', () => {
    assert.equal(
      retryTimerSummary(subject, { statusCode: 503, errorClass: 'http_status' }, 2, 8),
      'retry deliver customer.registered to hooks.example:8443 (ep_1) after HTTP 503, attempt 2 of 8',
    );
  });

  it('names the class of a failure without a status line, and a 2xx the postback matcher refused', () => {
    assert.equal(failureCause({ statusCode: null, errorClass: 'timeout' }), 'no answer within the timeout');
    assert.equal(failureCause({ statusCode: null, errorClass: 'connection' }), 'a connection error');
    assert.equal(
      failureCause({ statusCode: 200, errorClass: 'success_mismatch' }),
      'HTTP 200 not matching successMatch',
    );
    assert.equal(failureCause({}), 'a failed attempt');
    assert.equal(failureCause({ errorClass: 'something new' }), 'a failed attempt');
  });

  it('says a continued run waits out a schedule the run before began, when it does not know the failure', () => {
    assert.equal(
      retryTimerSummary(subject, null, 5, 8),
      'retry deliver customer.registered to hooks.example:8443 (ep_1) (continued from the previous run), attempt 5 of 8',
    );
  });

  it('never quotes an error message, which may carry what the receiver or its URL said', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 100, max: 599 })),
        fc.option(fc.constantFrom('timeout', 'connection', 'dns', 'tls', 'http_status', 'success_mismatch')),
        fc.string({ minLength: 1 }),
        (statusCode, errorClass, message) => {
          const failure: AttemptFailure = {
            attempt: 1,
            nextAttemptAt: '2026-12-04T10:00:00.000Z',
            error: `SECRET-${message}`,
            statusCode,
            errorClass,
          };
          const summary = retryTimerSummary(subject, failure, 2, 8);
          assert.ok(!summary.includes('SECRET-'), summary);
        },
      ),
    );
  });

  it('numbers the local first attempt and gives the server-side activity its schedule length', () => {
    assert.equal(
      firstAttemptSummary(subject, 8),
      'deliver customer.registered to hooks.example:8443 (ep_1), attempt 1 of 8',
    );
    assert.equal(
      deliveryActivitySummary(subject, 8),
      'deliver customer.registered to hooks.example:8443 (ep_1), retried on its schedule of 8 attempts',
    );
  });

  it("names the hold, its end and what the timer's firing does", () => {
    assert.equal(
      holdTimerSummary({ commissionId: 'com_1', holdUntil: '2026-12-10T00:00:00.000Z' }, 'player-42'),
      'hold of com_1 ends 2026-12-10T00:00:00.000Z: approve the commissions of customer player-42 whose hold has ended',
    );
  });
});

describe('what a delivery carries for its summaries', () => {
  const plan = {
    deliveryId: 'dlv_1',
    endpointId: 'ep_1',
    endpointHost: 'hooks.example',
    eventType: 'customer.registered',
    status: 'retrying' as const,
    attemptCount: 3,
    policy: resolveRetryPolicy({ schedule: ['1s', '1h'], jitter: 0 }),
    timeoutMs: 10_000,
    rateLimitPerSecond: null,
  };

  it('hands its last failure to the next run, which names it on the timer it waits with', () => {
    const before = track(plan);
    before.nextAttemptAt = '2026-12-04T10:00:00.000Z';
    before.lastFailure = { statusCode: 503, errorClass: 'http_status' };
    const after = track(plan);
    resume(after, handOver(before));
    assert.deepEqual(after.lastFailure, { statusCode: 503, errorClass: 'http_status' });
  });

  it('resumes without a failure from a run that handed none over', () => {
    const after = track(plan);
    resume(after, { deliveryId: 'dlv_1', driveBase: 0, nextAttemptAt: '2026-12-04T10:00:00.000Z' });
    assert.equal(after.lastFailure, null);
  });

  it('puts the schedule length on the server-side activity', () => {
    const options = deliveryActivityOptions(track(plan), 1, true);
    assert.equal(
      options.summary,
      'deliver customer.registered to hooks.example (ep_1), retried on its schedule of 3 attempts',
    );
  });
});
