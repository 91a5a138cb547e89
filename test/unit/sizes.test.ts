/**
 * Size limits on production code (issue 13): no file over 400 lines, no function over 120. Production code is
 * every TypeScript and JavaScript file under src/, activities/, workflows/, faults/, scripts/ and console/ (bench/ and
 * test/ are not). A function is a function declaration or expression, an arrow function, a method, a
 * constructor or an accessor, found with the TypeScript compiler API; its size is the line span from the
 * line it starts on to the line it ends on, both counted. There are no exceptions.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 120;

const PRODUCTION = ['src', 'activities', 'workflows', 'faults', 'scripts', 'console'];
const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;

/** Lines in a file's text; a final newline does not start another line. */
function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function scriptKind(fileName: string): ts.ScriptKind {
  if (/\.(js|mjs|cjs)$/.test(fileName)) return ts.ScriptKind.JS;
  if (fileName.endsWith('.tsx')) return ts.ScriptKind.TSX;
  return ts.ScriptKind.TS;
}

/** The name a reader would look for: the declared name, or the variable/property/argument it is bound to. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  if (ts.isExportAssignment(parent)) return 'default';
  return '(anonymous)';
}

export interface Offender {
  where: string;
  name: string;
  lines: number;
}

/** Every function in `text` longer than `max` lines, with where it starts. */
export function longFunctions(text: string, fileName: string, max = MAX_FUNCTION_LINES): Offender[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind(fileName));
  const found: Offender[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max)
        found.push({ where: `${fileName}:${start + 1}`, name: functionName(fn, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** What breaks the limits in one file: the file itself if it is too long, then each function that is. */
export function sizeOffenders(text: string, fileName: string): string[] {
  const lines = lineCount(text);
  const file = lines > MAX_FILE_LINES ? [`${fileName}:1 (file) ${lines} lines`] : [];
  return [...file, ...longFunctions(text, fileName).map((o) => `${o.where} ${o.name} ${o.lines} lines`)];
}

function productionFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...productionFiles(path));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path.split(sep).join('/'));
  }
  return out;
}

const files = PRODUCTION.flatMap(productionFiles).sort();
const text = (f: string) => readFileSync(join(root, f), 'utf8');

describe('size limits on production code', () => {
  it(`reports a planted file over ${MAX_FILE_LINES} lines and a planted function over ${MAX_FUNCTION_LINES}`, () => {
    const body = Array.from({ length: 130 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const planted = [
      'export function short() {\n  return 1;\n}',
      `export function tooLong() {\n${body}\n  return 0;\n}`,
      `export const arrow = () => {\n${body}\n};`,
      `class Probe {\n  method() {\n${body}\n  }\n}`,
      `export const obj = { handler: function () {\n${body}\n} };`,
      `export default Probe;`,
      ...Array.from({ length: 20 }, (_, i) => `export const filler${i} = ${i};`),
    ].join('\n');
    assert.deepEqual(sizeOffenders(planted, 'probe.ts'), [
      'probe.ts:1 (file) 555 lines',
      'probe.ts:4 tooLong 133 lines',
      'probe.ts:137 arrow 132 lines',
      'probe.ts:270 method 132 lines',
      'probe.ts:403 handler 132 lines',
    ]);
    const js = `export function big() {\n${body}\n}\n`;
    assert.deepEqual(sizeOffenders(js, 'probe.mjs'), ['probe.mjs:1 big 132 lines']);
    assert.deepEqual(sizeOffenders('const f = () => 1;\n', 'probe.ts'), []);
    assert.equal(lineCount('a\nb\n'), 2);
    assert.equal(lineCount('a\nb'), 2);
  });

  it('reads the production folders, TypeScript and JavaScript alike', () => {
    assert.ok(files.length > 50, `only ${files.length} files found`);
    for (const f of [
      'src/api/app.ts',
      'workflows/process-event.ts',
      'faults/run.ts',
      'scripts/bootstrap.mjs',
    ]) {
      assert.ok(files.includes(f), f);
    }
    assert.ok(!files.some((f) => f.startsWith('bench/') || f.startsWith('test/')));
  });

  it(`no production file is over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES}`, () => {
    const offenders = files.flatMap((f) => sizeOffenders(text(f), f));
    assert.deepEqual(offenders, [], `split these along their concepts:\n${offenders.join('\n')}`);
  });
});
