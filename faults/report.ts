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
