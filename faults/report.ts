/**
 * The fault run's results: the table on the terminal, and the markdown file in results/ (heading with the
 * commit and machine, the table, the timeline).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BEHAVIOURS } from './behaviours.js';

/** One line of the fault run's results. */
export interface Row {
  check: string;
  injected: string;
  expected: string;
  found: string;
  pass: boolean;
}

const COLUMNS = ['check', 'injected', 'expected', 'found', 'result'] as const;

function cells(r: Row): string[] {
  return [r.check, r.injected, r.expected, r.found, r.pass ? 'pass' : 'FAIL'];
}

/** The table on the terminal, columns padded (long cells wrap as the terminal pleases). */
export function printTable(rows: Row[]): void {
  const all = [[...COLUMNS], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.min(60, Math.max(...all.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(line([...COLUMNS]));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows) console.log(line(cells(r)));
}

/** The same table in markdown, for faults/results/ and RELIABILITY.md. */
export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The commit under test, marked when the tree has changes. */
function commit(): string {
  try {
    const at = (args: string[]) =>
      execFileSync('git', args, { cwd: import.meta.dirname })
        .toString()
        .trim();
    return `${at(['rev-parse', '--short', 'HEAD'])}${at(['status', '--porcelain']) ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Writes `<out>/<stamp>.md` and returns its path. */
export function writeResults(o: {
  out: string;
  stamp: string;
  rows: Row[];
  timeline: string[];
  events: number;
  rate: number;
  loadMs: number;
  settledInMs: number;
  settleMs: number;
  deliveries: number;
  requests: number;
}): string {
  const failed = o.rows.filter((r) => !r.pass).length;
  const heading = [
    `# Fault run ${new Date().toISOString()}`,
    '',
    `Code: ${commit()}; Node ${process.versions.node}; ${cpus().length} cores.`,
    '',
    `${o.events} events at ${o.rate}/s over ${BEHAVIOURS.length} receivers; load ${(o.loadMs / 1000).toFixed(0)} s, ` +
      `settle ${(o.settledInMs / 1000).toFixed(0)} s (bound ${o.settleMs / 1000} s); ` +
      `${o.deliveries} deliveries, ${o.requests} requests received. ${failed} of ${o.rows.length} checks failed.`,
    '',
  ];
  const md = [
    ...heading,
    markdownTable(o.rows),
    '',
    '## Timeline',
    '',
    ...o.timeline.map((l) => `- ${l}`),
    '',
  ].join('\n');
  const file = join(o.out, `${o.stamp}.md`);
  writeFileSync(file, md);
  return file;
}
