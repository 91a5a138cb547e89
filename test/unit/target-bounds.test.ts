import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { targetBounds } from '../../bench/target-bounds.js';

const pct = (p99: number | null) => ({ p50: null, p95: null, p99 }) as never;

const product = [
  {
    fraction: 0.25,
    label: '25pct',
    cpuMsPerEvent: { api: 30, worker: 1, temporal: 22, postgres: 7 },
    acceptMs: pct(30),
  },
  {
    fraction: 0.5,
    label: '50pct',
    cpuMsPerEvent: { api: 28, worker: 0.2, temporal: 23, postgres: 6 },
    acceptMs: pct(60),
  },
];
const best = [
  { fraction: 0.5, label: '50pct', cpuMsPerEvent: { baseline: 10.77, temporal: 19.23 }, acceptMs: pct(21) },
  { fraction: 0.9, label: '90pct', cpuMsPerEvent: { baseline: 11, temporal: 17 }, acceptMs: pct(140) },
];
const use = (percents: number[]) => ({
  phase: 'saturation',
  seconds: 10,
  processes: Object.fromEntries(
    percents.map((p, i) => [`p${i}`, { cpuPercent: p, cpuMs: 0, peakRssMb: null }]),
  ),
});

describe("the bench's bounds on issue 16's targets", () => {
  it('charges the product the best shape plus its PostgreSQL CPU, at half of each saturation', () => {
    const b = targetBounds({
      product,
      best,
      bestPerSec: 60,
      naivePerSec: 30,
      bestSaturationUse: use([90, 60, 30, 10]),
      cores: 2,
    });
    assert.equal(b.bestMs, 30);
    assert.equal(b.postgresMs, 6);
    // 30 / (30 + 6): at most 83.3 % of the best shape's events/s; at least 1.2x its CPU.
    assert.equal(b.throughputCeiling, 0.833);
    assert.equal(b.cpuFloor, 1.2);
    // 2 x 30/s is the best shape's own 60/s.
    assert.equal(b.naiveTargetInBest, 1);
    assert.deepEqual(b.bestAcceptP99, { '50pct': 21, '90pct': 140 });
    // 190 % of 2 cores.
    assert.equal(b.bestSaturationBusy, 95);
  });

  it('says nothing it cannot compute from the run', () => {
    const b = targetBounds({
      product: product.slice(0, 1),
      best: [],
      bestPerSec: null,
      naivePerSec: 30,
      bestSaturationUse: null,
      cores: 2,
    });
    assert.equal(b.postgresMs, null);
    assert.equal(b.bestMs, null);
    assert.equal(b.throughputCeiling, null);
    assert.equal(b.cpuFloor, null);
    assert.equal(b.naiveTargetInBest, null);
    assert.equal(b.bestSaturationBusy, null);
    assert.deepEqual(b.bestAcceptP99, {});
  });
});
