import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tailOverTime } from '../../bench/neighbours.js';
import { percentiles, quantileInterval, quantileRatioInterval } from '../../bench/stats.js';

/** Deterministic samples with a long tail, like end-to-end latencies: mostly fast, a few slow. */
function latencies(n: number, scale: number, seed: number): number[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => scale * (30 + 20 * rnd() + (rnd() < 0.03 ? 150 * rnd() : 0)));
}

describe("the bench's bootstrap interval of a p99 ratio", () => {
  it('brackets the measured ratio and narrows as the samples grow', () => {
    const small = quantileRatioInterval(latencies(450, 1.3, 7), latencies(900, 1, 11))!;
    const measured = percentiles(latencies(450, 1.3, 7)).p99! / percentiles(latencies(900, 1, 11)).p99!;
    assert.ok(small.low <= measured && measured <= small.high, JSON.stringify({ small, measured }));
    const large = quantileRatioInterval(latencies(20_000, 1.3, 7), latencies(40_000, 1, 11), {
      rounds: 300,
    })!;
    assert.ok(large.high - large.low < small.high - small.low, JSON.stringify({ small, large }));
    // With 20,000 events each way the p99 ratio of samples scaled by 1.3 is pinned near 1.3.
    assert.ok(large.low > 1.1 && large.high < 1.5, JSON.stringify(large));
  });

  it('is the same for the same samples, and null when a sample is empty', () => {
    const x = latencies(300, 1.2, 3);
    const base = latencies(300, 1, 5);
    assert.deepEqual(quantileRatioInterval(x, base), quantileRatioInterval(x, base));
    assert.equal(quantileRatioInterval([], base), null);
    assert.equal(quantileRatioInterval(x, []), null);
  });
});

describe("the bench's bootstrap interval of one sample's p99", () => {
  it('brackets the measured p99, is wide for a few hundred requests with a stall, and narrows with more', () => {
    // 200 accepts of a 6 s phase, three of them held by a half-second stall.
    const stalled = [...latencies(197, 1, 13), 480, 500, 511];
    const p99 = percentiles(stalled).p99!;
    const few = quantileInterval(stalled)!;
    assert.ok(few.low <= p99 && p99 <= few.high, JSON.stringify({ few, p99 }));
    // Whether the 1 % of slowest requests holds a stalled one is chance: the interval spans both.
    assert.ok(few.low < 100 && few.high >= 480, JSON.stringify(few));
    const many = quantileInterval(latencies(20_000, 1, 13), { rounds: 300 })!;
    assert.ok(many.high - many.low < 20, JSON.stringify(many));
    assert.deepEqual(quantileInterval(stalled), few);
    assert.equal(quantileInterval([]), null);
  });
});

describe("the bench's tail over time of a neighbours phase", () => {
  it('puts each event in the window it was sent in and gives each window its own p99', () => {
    // 90 s at 10/s: a quiet first window, a stall in the second, a slow tail growing in the third.
    const events = Array.from({ length: 900 }, (_, i) => {
      const atMs = i * 100;
      const stall = atMs >= 40_000 && atMs < 41_000;
      const growing = atMs >= 60_000 && i % 10 === 0;
      return { atMs, endToEndMs: stall ? 600 : growing ? 250 + (atMs - 60_000) / 100 : 40 };
    });
    const windows = tailOverTime(events, 90_000, 30);
    assert.deepEqual(
      windows.map((w) => [w.fromS, w.events, w.over200]),
      [
        [0, 300, 0],
        [30, 300, 10],
        [60, 300, 30],
      ],
    );
    assert.equal(windows[0]!.p99Ms, 40);
    assert.equal(windows[1]!.p99Ms, 600);
    assert.ok(windows[2]!.p99Ms! > 250, String(windows[2]!.p99Ms));
  });

  it('keeps an event sent at the very end in the last window, and leaves an empty window without a p99', () => {
    const windows = tailOverTime(
      [
        { atMs: 0, endToEndMs: 10 },
        { atMs: 60_000, endToEndMs: 20 },
      ],
      60_000,
      20,
    );
    assert.deepEqual(
      windows.map((w) => [w.events, w.p99Ms]),
      [
        [1, 10],
        [0, null],
        [1, 20],
      ],
    );
  });
});
