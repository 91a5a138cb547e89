import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DURATION_PATTERN, formatDuration, isDuration, parseDuration } from '../../src/domain/duration.js';

describe('duration strings: a whole number and one unit', () => {
  const valid: [string, number][] = [
    ['500ms', 500],
    ['5s', 5_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['3d', 259_200_000],
    ['0s', 0],
  ];
  for (const [text, ms] of valid) {
    it(`"${text}" is ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
      assert.equal(isDuration(text), true);
      assert.equal(DURATION_PATTERN.test(text), true);
    });
  }

  const invalid = ['5 s', '5', '1.5h', '-1s', '', ' 5s', '5s ', '5S', '5sec', '1h30m', 's', '+5s'];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} with a message that names it and shows the form`, () => {
      assert.throws(
        () => parseDuration(text),
        (err: Error) => {
          assert.ok(err instanceof Error);
          assert.ok(err.message.includes(JSON.stringify(text)), err.message);
          assert.match(err.message, /"5s"/);
          return true;
        },
      );
      assert.equal(isDuration(text), false);
    });
  }

  it('the pattern zod schemas reuse refuses what parseDuration refuses, call after call', () => {
    for (const text of invalid) assert.equal(DURATION_PATTERN.test(text), false, text);
    // A global flag would make the second test() of the same string fail.
    assert.equal(DURATION_PATTERN.test('5s'), true);
    assert.equal(DURATION_PATTERN.test('5s'), true);
  });

  it('rejects an amount too large to count in whole milliseconds exactly', () => {
    assert.throws(() => parseDuration('999999999999999d'), /too large/);
    assert.equal(isDuration('999999999999999d'), false);
  });
});

describe('formatDuration writes the largest unit that divides exactly', () => {
  const cases: [number, string][] = [
    [300_000, '5m'],
    [1_500, '1500ms'],
    [0, '0s'],
    [1_000, '1s'],
    [90_000, '90s'],
    [5_400_000, '90m'],
    [129_600_000, '36h'],
    [86_400_000, '1d'],
    [604_800_000, '7d'],
    [1, '1ms'],
  ];
  for (const [ms, text] of cases) {
    it(`${ms} ms is "${text}"`, () => assert.equal(formatDuration(ms), text));
  }

  it('refuses negative, fractional and non-finite milliseconds', () => {
    for (const ms of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => formatDuration(ms), RangeError, String(ms));
    }
  });

  it('round trip: parseDuration(formatDuration(ms)) gives ms back', () => {
    for (const ms of [0, 1, 999, 1_000, 1_001, 59_999, 60_000, 3_600_000, 86_399_999, 86_400_000, 2 ** 40]) {
      assert.equal(parseDuration(formatDuration(ms)), ms, String(ms));
    }
  });

  it('round trip the other way normalises the unit: "60s" comes back as "1m", "24h" as "1d"', () => {
    assert.equal(formatDuration(parseDuration('60s')), '1m');
    assert.equal(formatDuration(parseDuration('24h')), '1d');
    assert.equal(formatDuration(parseDuration('2h')), '2h');
  });
});
