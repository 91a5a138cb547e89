import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function fenceErrors(code: string, file = 'workflows/fence-probe.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
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

  it('the workflow code as it stands passes the fence', async () => {
    const results = await eslint.lintFiles(['workflows/**/*.ts', 'src/domain/**/*.ts']);
    const fence = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports'));
    assert.deepEqual(fence, []);
  });
});
