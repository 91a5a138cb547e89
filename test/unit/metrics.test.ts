import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { registry, statusClass } from '../../src/metrics.js';

/** Every metric the registry exposes, with its label names (a histogram's _bucket/_sum/_count included). */
async function exposed(): Promise<Map<string, string[]>> {
  const names = new Map<string, string[]>();
  for (const m of await registry.getMetricsAsJSON()) {
    const labels = (m as { labelNames?: string[] }).labelNames ?? [];
    const meta = registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
    const all = meta.labelNames ?? labels;
    names.set(m.name, all);
    if (String(m.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.set(m.name + suffix, all);
  }
  return names;
}

/** Label names that would carry unbounded or private values. */
const FORBIDDEN_LABEL =
  /operator|customer|affiliate|endpoint|url|secret|key|token|payload|body|event_?id|player/i;

describe('metrics registry', () => {
  it('names every metric affiliate_hooks_*, with its unit, and only bounded, non-private labels', async () => {
    const metrics = await registry.getMetricsAsJSON();
    assert.ok(metrics.length >= 10);
    for (const m of metrics) {
      assert.match(m.name, /^affiliate_hooks_[a-z_]+$/);
      if (String(m.type) === 'counter') assert.match(m.name, /_total$/, m.name);
      if (String(m.type) === 'histogram') assert.match(m.name, /_seconds$/, m.name);
    }
    for (const [name, labels] of await exposed())
      for (const label of labels) assert.doesNotMatch(label, FORBIDDEN_LABEL, `${name}{${label}}`);
  });

  it('classes status codes by hundred, and no answer as none', () => {
    assert.deepEqual([200, 204, 301, 410, 503, null, 0, 999].map(statusClass), [
      '2xx',
      '2xx',
      '3xx',
      '4xx',
      '5xx',
      'none',
      'none',
      'none',
    ]);
  });
});

describe('deploy/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync('deploy/grafana-dashboard.json', 'utf8')) as {
    title: string;
    uid: string;
    panels: { id: number; title: string; targets: { expr: string }[] }[];
  };

  it('is a dashboard with the main panels', () => {
    assert.ok(dashboard.title && dashboard.uid);
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const want of [
      'intake',
      'outcome',
      'latency p95',
      'retry backlog',
      'dead letters',
      'settlement step p95',
    ])
      assert.ok(titles.includes(want), `a panel for ${want}: ${titles}`);
    assert.equal(
      new Set(dashboard.panels.map((p) => p.id)).size,
      dashboard.panels.length,
      'unique panel ids',
    );
  });

  it('queries only metrics and labels the registry exposes', async () => {
    const names = await exposed();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, panel.title);
      for (const { expr } of panel.targets) {
        const used = expr.match(/affiliate_hooks_[a-z_]+/g) ?? [];
        assert.ok(used.length > 0, `${panel.title}: ${expr}`);
        for (const name of used) {
          assert.ok(names.has(name), `${panel.title}: ${name} is not in the registry`);
          const labels = [...expr.matchAll(/([a-z_]+)\s*(?:=|!=|=~)\s*"/g)].map((m) => m[1]!);
          const by = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/,\s*/));
          for (const label of [...labels, ...by].filter((l) => l !== 'le'))
            assert.ok(names.get(name)!.includes(label), `${panel.title}: ${name} has no label ${label}`);
        }
      }
    }
  });
});
