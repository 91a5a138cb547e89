import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clampRetryAfter,
  DEFAULT_RETRY_POLICY,
  maxAttempts,
  nextDelayMs,
  parseRetryAfter,
  resolveRetryPolicy,
  scheduledDelayMs,
  totalSpanMs,
  validateRetryPolicy,
  type ExponentialRetryPolicy,
  type ResolvedRetryPolicy,
  type RetryPolicy,
} from '../../src/domain/retry-policy.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The largest double below 1: what "random just under 1" means. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

/** The waits of a policy with random = 0.5, which cancels jitter out. */
function midWaits(p: ResolvedRetryPolicy): (number | null)[] {
  const waits: (number | null)[] = [];
  for (let attempt = 1; attempt <= maxAttempts(p); attempt++) waits.push(scheduledDelayMs(p, attempt, 0.5));
  return waits;
}

describe('the default policy', () => {
  const p = resolveRetryPolicy(undefined);
  const defaultWaits = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

  it('applies when the endpoint has none, whether the field is null or absent', () => {
    assert.deepEqual(resolveRetryPolicy(null), p);
    assert.deepEqual(resolveRetryPolicy(DEFAULT_RETRY_POLICY), p);
  });

  it('is 5s, 5m, 30m, 2h, 5h, 10h, 10h: 8 attempts in all, then exhausted', () => {
    assert.equal(maxAttempts(p), 8);
    assert.deepEqual(midWaits(p), [...defaultWaits, null]);
  });

  it('after the 3rd failed attempt of the default schedule the wait is 30 minutes ±20%', () => {
    assert.equal(scheduledDelayMs(p, 3, 0), 24 * MINUTE);
    assert.equal(scheduledDelayMs(p, 3, 0.5), 30 * MINUTE);
    assert.equal(scheduledDelayMs(p, 3, ALMOST_ONE), 36 * MINUTE);
  });

  it('keeps every jittered wait within ±20% of its base and in whole milliseconds', () => {
    for (let attempt = 1; attempt < 8; attempt++) {
      const base = defaultWaits[attempt - 1]!;
      for (let i = 0; i < 100; i++) {
        const wait = scheduledDelayMs(p, attempt, i / 100)!;
        assert.ok(Number.isInteger(wait), `${wait} is whole`);
        assert.ok(wait >= base * 0.8 && wait <= base * 1.2, `attempt ${attempt}, random ${i / 100}: ${wait}`);
      }
    }
  });

  it('jitter actually varies the wait with the random input', () => {
    const waits = new Set([0, 0.25, 0.5, 0.75].map((r) => scheduledDelayMs(p, 1, r)));
    assert.equal(waits.size, 4);
  });

  it('sums to 27 h 35 min 5 s of waiting before jitter', () => {
    assert.equal(totalSpanMs(p), 27 * HOUR + 35 * MINUTE + 5 * SECOND);
  });

  it('cannot be changed by a caller', () => {
    assert.throws(() => DEFAULT_RETRY_POLICY.schedule.push('1s'), TypeError);
    const resolved = resolveRetryPolicy(undefined);
    if (resolved.kind === 'schedule') resolved.waitsMs[0] = 1;
    assert.equal(scheduledDelayMs(resolveRetryPolicy(undefined), 1, 0.5), 5 * SECOND);
  });
});

describe('schedule policies', () => {
  it('a schedule of 2 waits allows 3 attempts, then the policy is exhausted', () => {
    const p = resolveRetryPolicy({ schedule: ['1s', '1m'], jitter: 0 });
    assert.equal(maxAttempts(p), 3);
    assert.equal(scheduledDelayMs(p, 1, 0.3), SECOND);
    assert.equal(scheduledDelayMs(p, 2, 0.3), MINUTE);
    assert.equal(scheduledDelayMs(p, 3, 0.3), null);
    assert.equal(scheduledDelayMs(p, 4, 0.3), null);
  });

  it('a user schedule gets ±20% jitter unless it says otherwise', () => {
    const p = resolveRetryPolicy({ schedule: ['10s'] });
    assert.equal(scheduledDelayMs(p, 1, 0), 8 * SECOND);
    assert.equal(scheduledDelayMs(p, 1, ALMOST_ONE), 12 * SECOND);
  });

  it('jitter 0 gives the exact waits whatever the random input', () => {
    const p = resolveRetryPolicy({ schedule: ['10s'], jitter: 0 });
    assert.equal(scheduledDelayMs(p, 1, 0), 10 * SECOND);
    assert.equal(scheduledDelayMs(p, 1, ALMOST_ONE), 10 * SECOND);
  });

  it('a set jitter is honoured: 0.5 gives half to one and a half times the wait', () => {
    const p = resolveRetryPolicy({ schedule: ['10s'], jitter: 0.5 });
    assert.equal(scheduledDelayMs(p, 1, 0), 5 * SECOND);
    assert.equal(scheduledDelayMs(p, 1, ALMOST_ONE), 15 * SECOND);
  });

  it('jittered waits round to whole milliseconds', () => {
    const p = resolveRetryPolicy({ schedule: ['1s'], jitter: 0.2 });
    // 1000 × (1 + 0.2 × (2 × 0.1234 − 1)) = 849.36
    assert.equal(scheduledDelayMs(p, 1, 0.1234), 849);
  });
});

describe('exponential policies', () => {
  const oneTwoFour: ExponentialRetryPolicy = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    maximumAttempts: 6,
    jitter: 0,
  };

  it('exponential 1s x2 capped at 5s gives 1,2,4,5,5', () => {
    const p = resolveRetryPolicy(oneTwoFour);
    assert.deepEqual(
      midWaits(p),
      [1, 2, 4, 5, 5, null].map((s) => (s === null ? null : s * SECOND)),
    );
  });

  it('maximumAttempts counts the first attempt: 6 attempts means 5 waits', () => {
    assert.equal(maxAttempts(resolveRetryPolicy(oneTwoFour)), 6);
    assert.equal(scheduledDelayMs(resolveRetryPolicy(oneTwoFour), 5, 0.5), 5 * SECOND);
    assert.equal(scheduledDelayMs(resolveRetryPolicy(oneTwoFour), 6, 0.5), null);
  });

  it('maximumAttempts 1 means no retry at all', () => {
    const p = resolveRetryPolicy({ ...oneTwoFour, maximumAttempts: 1 });
    assert.equal(scheduledDelayMs(p, 1, 0.5), null);
    assert.equal(totalSpanMs(p), 0);
  });

  it('grows by a fractional coefficient in whole milliseconds', () => {
    const p = resolveRetryPolicy({
      initialInterval: '1s',
      backoffCoefficient: 1.5,
      maximumAttempts: 5,
      jitter: 0,
    });
    assert.deepEqual(midWaits(p), [1000, 1500, 2250, 3375, null]);
  });

  it('without maximumInterval the waits keep growing', () => {
    const p = resolveRetryPolicy({ initialInterval: '1s', backoffCoefficient: 3, maximumAttempts: 4 });
    assert.deepEqual(midWaits(p), [1000, 3000, 9000, null]);
  });

  it('gets ±20% jitter unless it says otherwise', () => {
    const { jitter: _jitter, ...noJitter } = oneTwoFour;
    const p = resolveRetryPolicy(noJitter);
    assert.equal(scheduledDelayMs(p, 3, 0), 3_200);
    assert.equal(scheduledDelayMs(p, 3, ALMOST_ONE), 4_800);
  });

  it('rounds each un-jittered wait to whole milliseconds, so totalSpanMs is whole too', () => {
    const p = resolveRetryPolicy({ initialInterval: '1ms', backoffCoefficient: 1.5, maximumAttempts: 4 });
    // 1, 1.5, 2.25 round to 1, 2, 2
    assert.equal(totalSpanMs(p), 5);
  });

  it('totalSpanMs of 1,2,4,5,5 seconds is 17 seconds', () => {
    assert.equal(totalSpanMs(resolveRetryPolicy(oneTwoFour)), 17 * SECOND);
  });
});

describe('the resolved policy a workflow receives', () => {
  const policies: RetryPolicy[] = [
    DEFAULT_RETRY_POLICY,
    { schedule: ['1s', '2d'], jitter: 0.1 },
    { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1h', maximumAttempts: 10 },
    { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 10 },
  ];
  for (const policy of policies) {
    it(`survives JSON unchanged: ${JSON.stringify(policy)}`, () => {
      const resolved = resolveRetryPolicy(policy);
      const copy = JSON.parse(JSON.stringify(resolved)) as ResolvedRetryPolicy;
      assert.deepEqual(copy, resolved);
      assert.deepEqual(midWaits(copy), midWaits(resolved));
    });
  }

  it('refuses to resolve an invalid policy, naming the problem', () => {
    assert.throws(() => resolveRetryPolicy({ schedule: ['5 s'] }), /schedule\[0\].*"5 s"/);
    assert.throws(() => resolveRetryPolicy({ schedule: [] }), /at least one wait/);
  });

  it('refuses attempt numbers below 1 and random inputs outside [0, 1)', () => {
    const p = resolveRetryPolicy(undefined);
    for (const attempt of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => scheduledDelayMs(p, attempt, 0.5), RangeError, String(attempt));
    }
    for (const random of [1, -0.01, 1.5, Number.NaN]) {
      assert.throws(() => scheduledDelayMs(p, 1, random), RangeError, String(random));
    }
  });
});

describe('Retry-After', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  it('reads delay-seconds as milliseconds', () => {
    assert.equal(parseRetryAfter('120', now), 120 * SECOND);
    assert.equal(parseRetryAfter(' 7 ', now), 7 * SECOND);
    assert.equal(parseRetryAfter('0', now), 0);
  });

  it('reads a negative delay as now', () => {
    assert.equal(parseRetryAfter('-30', now), 0);
  });

  it('reads an IMF-fixdate as the time left until it', () => {
    assert.equal(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', now), 30 * SECOND);
    assert.equal(parseRetryAfter('sun, 01 jun 2025 13:00:00 gmt', now), HOUR);
  });

  it('Retry-After as an HTTP date in the past means now', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
    assert.equal(parseRetryAfter('Sun, 01 Jun 2025 11:59:59 GMT', now), 0);
  });

  it('reads the obsolete RFC 850 and asctime forms, asctime as GMT', () => {
    assert.equal(parseRetryAfter('Sunday, 01-Jun-25 12:01:00 GMT', now), MINUTE);
    assert.equal(parseRetryAfter('Sun Jun  1 12:02:00 2025', now), 2 * MINUTE);
  });

  it('reads a two-digit RFC 850 year more than 50 years ahead as the past century', () => {
    const in2030 = new Date('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thursday, 01-Jan-32 00:00:10 GMT', in2030), 2 * 365 * DAY + 10 * SECOND);
    assert.equal(parseRetryAfter('Friday, 01-Jan-99 00:00:00 GMT', in2030), 0); // 1999, not 2099
  });

  it('accepts other dates Date.parse reads when they name their zone', () => {
    assert.equal(parseRetryAfter('Sun, 01 Jun 2025 12:00:45 +0000', now), 45 * SECOND);
    assert.equal(parseRetryAfter('Sun, 1 Jun 2025 14:01:00 +02:00', now), MINUTE);
  });

  it('ignores a date without a zone, which each worker would read in its own', () => {
    assert.equal(parseRetryAfter('Jun 1 2025 12:00:30', now), null);
  });

  it('ignores garbage, fractions, impossible dates and an absent header', () => {
    for (const header of [
      '',
      '   ',
      'soon',
      '1.5',
      '12s',
      'Sun, 31 Feb 2025 12:00:00 GMT',
      'Sun, 01 Jun 2025 25:00:00 GMT',
    ]) {
      assert.equal(parseRetryAfter(header, now), null, JSON.stringify(header));
    }
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });

  it('Retry-After: 120 with a scheduled 5 s wait is clamped to 10 s', () => {
    assert.equal(clampRetryAfter(parseRetryAfter('120', now)!, 5 * SECOND), 10 * SECOND);
  });

  it('a Retry-After shorter than the scheduled wait waits the scheduled time', () => {
    assert.equal(clampRetryAfter(SECOND, 5 * SECOND), 5 * SECOND);
    assert.equal(clampRetryAfter(Number.NaN, 5 * SECOND), 5 * SECOND);
  });

  it('a Retry-After within [scheduled, 2 × scheduled] is honoured as given', () => {
    assert.equal(clampRetryAfter(7 * SECOND, 5 * SECOND), 7 * SECOND);
  });
});

describe('nextDelayMs: the wait before the next attempt', () => {
  const p = resolveRetryPolicy(undefined);

  it('without Retry-After is the jittered scheduled wait', () => {
    for (const r of [0, 0.3, ALMOST_ONE]) assert.equal(nextDelayMs(p, 2, r, null), scheduledDelayMs(p, 2, r));
  });

  it('clamps Retry-After to the jittered wait and twice it', () => {
    assert.equal(nextDelayMs(p, 1, 0.5, 120 * SECOND), 10 * SECOND);
    assert.equal(nextDelayMs(p, 1, 0, 120 * SECOND), 8 * SECOND);
    assert.equal(nextDelayMs(p, 1, 0, 0), 4 * SECOND);
    assert.equal(nextDelayMs(p, 1, 0.5, 7 * SECOND), 7 * SECOND);
  });

  it('Retry-After never buys an attempt past the budget', () => {
    assert.equal(nextDelayMs(p, 8, 0.5, 0), null);
    assert.equal(nextDelayMs(p, 8, 0.5, 60 * SECOND), null);
    assert.notEqual(nextDelayMs(p, 7, 0.5, 60 * SECOND), null);
  });
});

describe('validateRetryPolicy', () => {
  const exp: ExponentialRetryPolicy = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1h',
    maximumAttempts: 10,
  };

  function problemsOf(p: unknown): string[] {
    return validateRetryPolicy(p as RetryPolicy);
  }

  it('finds nothing wrong with the default, a 7-day wait or a sound exponential policy', () => {
    assert.deepEqual(problemsOf(DEFAULT_RETRY_POLICY), []);
    assert.deepEqual(problemsOf({ schedule: ['7d'] }), []);
    assert.deepEqual(problemsOf({ schedule: ['0s'], jitter: 0 }), []);
    assert.deepEqual(problemsOf(exp), []);
    assert.deepEqual(problemsOf({ ...exp, maximumAttempts: 100, jitter: 1 }), []);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an empty schedule', { schedule: [] }, /at least one wait/],
    ['more than 50 waits', { schedule: Array(51).fill('1s') }, /51 waits; at most 50/],
    ['a wait over 7 days', { schedule: ['5s', '8d'] }, /schedule\[1\]: 8d is longer than the 7-day limit/],
    ['a wait one millisecond over 7 days', { schedule: ['604800001ms'] }, /7-day limit/],
    ['a bad duration in a schedule', { schedule: ['5s', '5 s'] }, /schedule\[1\]: "5 s" is not a duration/],
    ['a schedule that is not a list', { schedule: '5s' }, /schedule must be a list/],
    [
      'a coefficient below 1',
      { ...exp, backoffCoefficient: 0.5 },
      /backoffCoefficient must be .* at least 1/,
    ],
    ['maximumAttempts 0', { ...exp, maximumAttempts: 0 }, /maximumAttempts must be .* 1 to 100/],
    ['maximumAttempts 101', { ...exp, maximumAttempts: 101 }, /maximumAttempts must be .* 1 to 100/],
    ['fractional maximumAttempts', { ...exp, maximumAttempts: 2.5 }, /maximumAttempts/],
    [
      'a bad initialInterval',
      { ...exp, initialInterval: '1.5h' },
      /initialInterval: "1.5h" is not a duration/,
    ],
    ['a zero initialInterval', { ...exp, initialInterval: '0s' }, /initialInterval must be longer than 0/],
    ['a bad maximumInterval', { ...exp, maximumInterval: '-1s' }, /maximumInterval: "-1s" is not a duration/],
    ['a maximumInterval over 7 days', { ...exp, maximumInterval: '8d' }, /maximumInterval: 8d is longer/],
    ['a maximumInterval below initialInterval', { ...exp, maximumInterval: '500ms' }, /shorter than initial/],
    [
      'an uncapped exponential whose waits outgrow 7 days',
      { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 30 },
      /after attempt 29 would exceed 7 days/,
    ],
    ['jitter above 1', { schedule: ['5s'], jitter: 1.5 }, /jitter must be a number from 0 to 1/],
    ['negative jitter', { schedule: ['5s'], jitter: -0.1 }, /jitter/],
    [
      'both shapes at once',
      { schedule: ['5s'], initialInterval: '1s' },
      /either schedule or initialInterval/,
    ],
    [
      'a missing initialInterval',
      { backoffCoefficient: 2, maximumAttempts: 3 },
      /initialInterval is required/,
    ],
    ['neither shape', {}, /needs either schedule or initialInterval/],
    ['not an object', null, /must be an object/],
  ];
  for (const [what, policy, problem] of bad) {
    it(`reports ${what}`, () => {
      const problems = problemsOf(policy);
      assert.ok(
        problems.some((p) => problem.test(p)),
        `expected ${problem} in ${JSON.stringify(problems)}`,
      );
    });
  }

  it('reports every problem, not just the first', () => {
    assert.equal(problemsOf({ schedule: ['5 s', '8d', 'x'] }).length, 3);
  });
});
