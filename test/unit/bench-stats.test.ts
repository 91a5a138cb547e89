import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentiles, quantileRatioInterval } from '../../bench/stats.js';

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
