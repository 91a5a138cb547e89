import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function fenceErrors(code: string, file = 'workflows/fence-probe.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'determinism/allowed-imports').map((m) => m.message);
}

describe('the determinism fence around workflows/', () => {
  const forbidden = [
    "import { readFileSync } from 'node:fs';",
    "import { createHash } from 'crypto';",
    "import pg from 'pg';",
    "import express from 'express';",
    "import { createActivities } from '../activities/index.js';",
    "import { createPool } from '../src/db/pool.js';",
    "import { acceptEvent } from '../src/ingest/accept-event.js';",
    // Beyond the old denylist: mechanics and config were not fenced, nor anything written relatively.
    "import { deliver } from '../src/delivery/http.js';",
    "import { settle } from '../src/commission/settle.js';",
    "import { loadConfig } from '../src/config.js';",
    "import { log } from '../src/log.js';",
    "import { z } from 'zod';",
    "import { Client } from '@temporalio/client';",
    "import { Context } from '@temporalio/activity';",
    "import { x } from './../workflows/../src/db/pool.js';",
    "export { createActivities } from '../activities/index.js';",
    "export * from '../src/temporal/start-event.js';",
    "const m = await import('../src/db/pool.js');",
  ];
  for (const line of forbidden) {
    it(`refuses ${line}`, async () => {
      const errors = await fenceErrors(`${line}\nexport const x = 1;\n`);
      assert.equal(errors.length, 1, `expected one fence error for: ${line}`);
    });
  }

  it('allows @temporalio/workflow, src/domain and activity types', async () => {
    const errors = await fenceErrors(
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { Activities } from '../activities/index.js';",
        "import { SA } from '../src/domain/search-attributes.js';",
        'export const x = [proxyActivities, SA] as unknown as Activities;',
      ].join('\n'),
    );
    assert.deepEqual(errors, []);
  });

  it('resolves relative imports: src/domain reaching ../db/pool.js is refused', async () => {
    const code = "import { createPool } from '../db/pool.js';\nexport const x = createPool;\n";
    const errors = await fenceErrors(code, 'src/domain/probe.ts');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /resolves to src\/db\/pool\.js/);
    // The same specifier is fine where it resolves inside src/domain.
    assert.deepEqual(await fenceErrors(code, 'src/domain/db/probe.ts'), []);
    assert.deepEqual(
      await fenceErrors("import { x } from './money.js';\nexport const y = x;\n", 'src/domain/probe.ts'),
      [],
    );
    // src/domain may not reach workflows/ or activities/, even as types.
    for (const spec of ['../../workflows/definitions.js', '../../activities/index.js']) {
      const errs = await fenceErrors(
        `import type { X } from '${spec}';\nexport type Y = X;\n`,
        'src/domain/a/probe.ts',
      );
      assert.equal(errs.length, 1, spec);
    }
  });

  it('applies to src/domain too, and not to activities', async () => {
    assert.equal(
      (await fenceErrors("import pg from 'pg';\nexport const x = pg;\n", 'src/domain/probe.ts')).length,
      1,
    );
    assert.equal(
      (await fenceErrors("import pg from 'pg';\nexport const x = pg;\n", 'activities/probe.ts')).length,
      0,
    );
  });

  it('allows activities only as types, whatever the import form', async () => {
    assert.deepEqual(await fenceErrors("export type { Activities } from '../activities/index.js';\n"), []);
    assert.equal(
      (
        await fenceErrors(
          "import { type Activities } from '../activities/index.js';\nexport type A = Activities;\n",
        )
      ).length,
      1,
      '`import { type X }` leaves a runtime import behind under verbatimModuleSyntax',
    );
  });

  it('the workflow code as it stands passes the fence', async () => {
    const results = await eslint.lintFiles(['workflows/**/*.ts', 'src/domain/**/*.ts']);
    const fence = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'determinism/allowed-imports'),
    );
    assert.deepEqual(fence, []);
  });
});
