/**
 * All SQL lives in src/db/ (the repositories). This reads every production TypeScript file outside it and
 * fails on a string or template literal shaped like a SQL statement. There are no exceptions.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');

/** Statement shapes, upper case as this code base writes SQL (so English prose does not match). */
const SQL_SHAPES = [
  /\bSELECT\b[\s\S]*\bFROM\b/,
  /^\s*\(?\s*SELECT\b/,
  /\bINSERT\s+INTO\b/,
  /\bUPDATE\s+\w+(\s+\w+)?\s+SET\b/,
  /\bDELETE\s+FROM\b/,
  /^\s*WITH\s+\w+\s+AS\s*\(/,
];

function sqlLiterals(text: string, fileName = 'probe.ts'): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    let literal: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literal = node.text;
    else if (ts.isTemplateExpression(node)) {
      literal = node.head.text + node.templateSpans.map((s) => `\${} ${s.literal.text}`).join('');
    }
    if (literal !== undefined && SQL_SHAPES.some((shape) => shape.test(literal))) {
      found.push(literal.trim().split('\n')[0]!.slice(0, 80));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function productionFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...productionFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path.split(sep).join('/'));
  }
  return out;
}

const files = ['src', 'activities', 'workflows']
  .flatMap(productionFiles)
  .filter((f) => !f.startsWith('src/db/'))
  .sort();

describe('SQL only in src/db/', () => {
  it('recognises the statement shapes in literals, not in comments or prose', () => {
    const probe = [
      "const a = 'SELECT id FROM deliveries WHERE id = $1';",
      'const b = `INSERT INTO events (id) VALUES ($1)`;',
      "const c = `UPDATE deliveries d SET status = 'failed' WHERE id = ${id}`;",
      "const d = 'DELETE FROM endpoints WHERE id = $1';",
      "const e = 'SELECT 1';",
      '// SELECT x FROM y in a comment does not count',
      "const f = 'Select an endpoint from the list, then update its settings.';",
    ].join('\n');
    assert.equal(sqlLiterals(probe).length, 5);
  });

  it('no production file outside src/db/ holds SQL', () => {
    const offenders = files.filter((f) => sqlLiterals(readFileSync(join(root, f), 'utf8'), f).length > 0);
    assert.deepEqual(
      offenders.map((f) => `${f}: ${sqlLiterals(readFileSync(join(root, f), 'utf8'), f).join(' | ')}`),
      [],
      'move this SQL into a repository under src/db/',
    );
  });

  it('reads the production folders', () => {
    assert.ok(files.length > 50, `only ${files.length} files found`);
    assert.ok(files.includes('src/api/app.ts') && files.includes('workflows/process-event.ts'));
  });
});
