import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testEnv } from '../support/env.js';

/**
 * The bench harness in its tiny mode, on the suite's Temporal server and database: it must run end to end,
 * write well-formed results with every section, and deliver every event it sent exactly once. No timing
 * is asserted: figures from a shared CI machine mean nothing.
 */
const env = testEnv();
const root = join(import.meta.dirname, '..', '..');

describe('npm run bench (smoke mode)', () => {
  it('writes JSON and Markdown with every section, every event delivered exactly once', async () => {
    const out = mkdtempSync(join(env.tmpDir ?? tmpdir(), 'bench-smoke-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'bench', 'run.ts'),
        '--smoke',
        '--endpoints',
        '1',
        '--temporal-address',
        env.temporalAddress,
        '--database-url',
        env.databaseUrl,
        '--out',
        out,
      ],
      { cwd: root, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // A bound, not a timing assertion: on a busy 2-core machine the smoke run alone can take 90 s.
    const timer = setTimeout(() => child.kill('SIGINT'), 180_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, output);

    const jsonPath = /^BENCH_RESULT_JSON=(.+)$/m.exec(output)?.[1];
    assert.ok(jsonPath, output);
    const result = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const markdown = readFileSync(jsonPath.replace(/\.json$/, '.md'), 'utf8');

    assert.equal(result.schema, 'affiliate-hooks-bench/1');
    assert.equal(result.mode, 'smoke');
    for (const section of [
      'machine',
      'system',
      'ceiling',
      'saturation',
      'latency',
      'accept',
      'fixedRate',
      'drain',
      'cost',
      'neighbours',
      'resources',
      'integrity',
      'ratios',
      'targets',
    ]) {
      assert.ok(section in result, `section ${section} missing`);
    }
    assert.equal(result.drain.skipped, true);
    for (const shape of ['product', 'best', 'naive']) {
      assert.equal(typeof result.saturation[shape].deliveredPerSec, 'number', shape);
      assert.equal(result.latency[shape].length, 3, shape);
      for (const run of result.latency[shape]) {
        assert.equal(typeof run.endToEndMs.p99, 'number', `${shape} ${run.label}`);
        assert.equal(typeof run.acceptMs.p50, 'number', `${shape} ${run.label}`);
      }
    }
    assert.equal(typeof result.ceiling.postsPerSec, 'number');
    assert.equal(result.accept.length >= 3, true);
    assert.ok(result.resources.phases.length > 0);
    assert.equal(typeof result.resources.phases[0].processes.api?.cpuPercent, 'number');
    // The hypervisor's steal is measured apart from the rest of the machine, per phase and its worst second.
    for (const phase of result.resources.phases as { phase: string; steal?: Record<string, number> }[]) {
      assert.equal(typeof phase.steal?.percent, 'number', phase.phase);
      assert.ok(phase.steal!.worstSecondPercent! >= 0, phase.phase);
    }
    assert.deepEqual(
      result.cost.product.map((c: { endpoints: number; deal: boolean; failedFirst: boolean }) => [
        c.endpoints,
        c.deal,
        c.failedFirst,
      ]),
      [
        [1, false, false],
        [5, false, false],
        [1, true, false],
        [1, false, true],
      ],
    );
    // Refused first attempts: each delivery was tried at least twice, and the targets say what that cost.
    const failed = result.cost.product.find((c: { failedFirst: boolean }) => c.failedFirst);
    assert.ok(failed.temporal.perEvent.historyBytes > 0);
    assert.ok(
      result.targets.some((t: { name: string }) => t.name.startsWith('Actions a failed first attempt adds')),
      JSON.stringify(result.targets.map((t: { name: string }) => t.name)),
    );
    assert.match(markdown, /## Capacity and cost model/);
    assert.match(markdown, /\*\*Steal:\*\* the hypervisor took|The hypervisor took under 20 % of a core/);
    assert.match(markdown, /\| 10,000 \| 5 \| 10 % \|/);
    for (const c of result.cost.product) {
      assert.equal(c.delivered, c.events);
      // With a deal each event also has its customer's workflow.
      assert.equal(c.temporal.completed, c.events * (c.deal ? 2 : 1));
      assert.ok(c.temporal.perEvent.starts >= 1);
      assert.equal(typeof c.postgres.roundTripsPerEvent, 'number');
    }
    assert.ok(result.targets.length >= 4);
    // The healthy tenant measured alone, beside the noisy ones and alone again, every phase delivered in
    // full; the baseline is both alone phases' events.
    const nb = result.neighbours;
    assert.ok(nb.aloneAfter, 'the second alone phase ran');
    for (const phase of [nb.alone, nb.withNeighbours, nb.aloneAfter]) {
      assert.equal(typeof phase.endToEndMs.p99, 'number', phase.label);
      assert.equal(phase.delivered, phase.accepted, phase.label);
      // Its tail over time accounts for every delivered event once.
      assert.equal(
        phase.tailOverTime.reduce((n: number, w: { events: number }) => n + w.events, 0),
        phase.delivered,
        phase.label,
      );
      // And says whether the bench itself stalled while it measured.
      assert.equal(typeof phase.benchStalls.loopDelayMaxMs, 'number', phase.label);
      assert.equal(typeof phase.benchStalls.gcMaxPauseMs, 'number', phase.label);
    }
    assert.equal(nb.baselineMs.count, nb.alone.endToEndMs.count + nb.aloneAfter.endToEndMs.count);
    // The p99 ratio comes with how far the run's events pin it down.
    assert.ok(nb.ratioP99Interval, 'the ratio has a bootstrap interval');
    assert.ok(nb.ratioP99Interval.low <= nb.ratioP99Interval.high);
    assert.equal(nb.withNeighbours.seconds >= nb.alone.seconds, true);
    assert.equal(result.neighbours.backlog.accepted, result.neighbours.backlog.sent);
    assert.equal(result.neighbours.failing.endpoints.length, 2);

    // Every event sent was accepted and delivered, and exactly once.
    for (const shape of ['product', 'best', 'naive']) {
      const i = result.integrity.shapes[shape];
      assert.ok(i.sent > 0, shape);
      assert.equal(i.accepted, i.sent, shape);
      assert.equal(i.delivered, i.sent, shape);
      assert.equal(i.missing, 0, shape);
    }
    assert.equal(result.integrity.duplicateWebhookIds, 0);
    assert.equal(result.integrity.duplicateDeliveries, 0);
    assert.equal(result.integrity.badSignatures, 0);
    assert.equal(result.integrity.ceiling.receivedOk, result.integrity.ceiling.sentOk);

    for (const heading of [
      '## Throughput at saturation',
      '## Latency',
      '## Cost per event',
      '## Noisy neighbours',
      '## Targets',
    ])
      assert.ok(markdown.includes(heading), heading);
  });
});
