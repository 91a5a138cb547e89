import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  capacityRow,
  DEFAULT_ASSUMPTIONS,
  figuresOf,
  priceActions,
  SCENARIOS,
  type CapacitySource,
  type PerEventFigures,
} from '../../bench/capacity.js';

const figures: PerEventFigures = {
  cpuOne: { api: 20, worker: 4, temporal: 14, postgres: 6 },
  cpuPerEndpoint: { api: 3, worker: 2, temporal: 4, postgres: 1 },
  actionsOne: 3,
  actionsPerEndpoint: 1,
  actionsPerFailure: 1.5,
  historyBytesOne: 4000,
  historyBytesPerEndpoint: 1000,
  source: 'a test',
};

describe('the capacity and cost model', () => {
  it('prices actions on the list volume tiers, as the pricing page works its own example', () => {
    // The documentation's example: 11.25M actions = 5M x $50 + 5M x $45 + 1.25M x $40 = $525.
    assert.equal(priceActions(11.25e6), 525);
    assert.equal(priceActions(0), 0);
    assert.equal(priceActions(5e6), 250);
    // Past the last tier (200M) the last list price goes on: 8,425 USD for 300M.
    assert.equal(priceActions(300e6), 250 + 225 + 400 + 1050 + 1500 + 2500 + 2500);
  });

  it('sizes each tier from CPU per event, endpoints and failed first attempts at the assumed utilisation', () => {
    const row = capacityRow(figures, { eventsPerSec: 1000, endpoints: 5, failedFirst: 0.1 });
    // API: 20 + 4 x 3 + (0.1 x 5) x 3 = 33.5 ms per event; 1000/s = 33.5 core-s/s; at 70 % busy: 47.9 cores.
    assert.equal(row.cores.api, 47.9);
    // Temporal: 14 + 16 + 0.5 x 4 = 32 ms -> 45.7 cores.
    assert.equal(row.cores.temporal, 45.7);
    // Actions: 3 + 4 x 1 + 0.5 x 1.5 = 7.75 per event; 7,750/s; 15 units of 500 APS above the default 500.
    assert.equal(row.actionsPerEvent, 7.75);
    assert.equal(row.actionsPerSec, 7750);
    assert.equal(row.extraCapacityUnits, 15);
    assert.equal(row.actionsPerMonth, 7750 * 720 * 3600);
    assert.equal(row.actionsUsd, priceActions(7750 * 720 * 3600));
    // Histories: 8,000 bytes per event kept 90 days: 1000 x 86,400 x 90 x 8,000 bytes = 62,208 GB.
    assert.equal(row.retainedGb, 62208);
    assert.equal(row.retainedUsd, Math.round(62208 * 720 * 0.00105));
    // The Business plan: the greater of $500 or 10 % of the usage.
    assert.equal(row.planUsd, Math.round(0.1 * (row.actionsUsd + 62208 * 720 * 0.00105)));
  });

  it('charges the plan minimum on small usage and needs no extra capacity under 500 actions/s', () => {
    const row = capacityRow(
      { ...figures, historyBytesOne: 0, historyBytesPerEndpoint: 0 },
      { eventsPerSec: 10, endpoints: 1, failedFirst: 0 },
      DEFAULT_ASSUMPTIONS,
    );
    assert.equal(row.actionsPerSec, 30);
    assert.equal(row.extraCapacityUnits, 0);
    assert.equal(row.planUsd, 500);
  });

  it('covers 1,000 and 10,000 events/s with 1 and 5 endpoints at 1 % and 10 % failed first attempts', () => {
    assert.equal(SCENARIOS.length, 8);
    for (const rate of [1000, 10000])
      for (const endpoints of [1, 5])
        for (const failedFirst of [0.01, 0.1])
          assert.ok(
            SCENARIOS.some(
              (s) => s.eventsPerSec === rate && s.endpoints === endpoints && s.failedFirst === failedFirst,
            ),
          );
  });

  it('says why it cannot read a result that lacks a figure, rather than inventing one', () => {
    const noCost = { cost: { skipped: true, reason: 'skipped by --skip' } } as unknown as CapacitySource;
    assert.match(String(figuresOf(noCost)), /skipped/);
    const cost = (endpoints: number, extra: Record<string, unknown> = {}) => ({
      endpoints,
      deal: false,
      failedFirst: false,
      rate: 10,
      cpuMsPerEvent: { api: 1, worker: 1, temporal: 1, postgres: 1 },
      temporal: { perEvent: { actions: 3, historyBytes: 100 } },
      ...extra,
    });
    const withoutFailures = {
      cost: { product: [cost(1), cost(5)] },
      latency: { product: [] },
    } as unknown as CapacitySource;
    assert.match(String(figuresOf(withoutFailures)), /refused first attempts/);
    const withoutHalf = {
      cost: { product: [cost(1), cost(5), cost(1, { failedFirst: true })] },
      latency: { product: [] },
    } as unknown as CapacitySource;
    assert.match(String(figuresOf(withoutHalf)), /CPU per tier/);
  });

  it("bills Temporal Cloud's actions (one per workflow task's local activities) when the run counted them", () => {
    const half = {
      label: '50pct',
      fraction: 0.5,
      rate: 20,
      cpuMsPerEvent: { api: 10, worker: 0, temporal: 8, postgres: 4 },
    };
    const cost = (endpoints: number, perEvent: Record<string, number>, failedFirst = false) => ({
      endpoints,
      deal: false,
      failedFirst,
      rate: 10,
      cpuMsPerEvent: { api: 1, worker: 1, temporal: 1, postgres: 1 },
      temporal: { perEvent: { historyBytes: 100, ...perEvent } },
    });
    const source = (billable: boolean) =>
      ({
        startedAt: 't',
        mode: 'quick',
        cost: {
          product: [
            cost(1, { actions: 3, ...(billable ? { billable: 2 } : {}) }),
            cost(5, { actions: 7, ...(billable ? { billable: 2 } : {}) }),
            cost(1, { actions: 5, ...(billable ? { billable: 4 } : {}) }, true),
          ],
        },
        latency: { product: [half] },
      }) as unknown as CapacitySource;
    const billed = figuresOf(source(true)) as PerEventFigures;
    assert.deepEqual([billed.actionsOne, billed.actionsPerEndpoint, billed.actionsPerFailure], [2, 0, 2]);
    assert.doesNotMatch(billed.source, /upper bound/);
    const older = figuresOf(source(false)) as PerEventFigures;
    assert.deepEqual([older.actionsOne, older.actionsPerEndpoint, older.actionsPerFailure], [3, 1, 2]);
    assert.match(older.source, /each local activity counted as an action, an upper bound/);
  });
});
