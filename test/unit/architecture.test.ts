/**
 * The layer rules `npm run lint` checks (.dependency-cruiser.mjs): probes show the check fails on a planted
 * upward import, a planted cycle and a planted impure src/domain import, and the tree as it stands passes
 * with no exception list.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;

/** Runs `npm run lint:arch` as package.json writes it (minus the `depcruise` word), in `cwd`. */
function lintArch(cwd: string, extra: string[] = []) {
  const args = scripts['lint:arch']!.split(/\s+/).slice(1);
  const run = spawnSync(process.execPath, [depcruise, ...args, ...extra], { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the layer rules (dependency-cruiser)', () => {
  it('npm run lint runs them', () => {
    assert.match(scripts.lint!, /npm run lint:arch/);
  });

  it('the tree passes them as it stands, with no list of known exceptions', () => {
    assert.doesNotMatch(scripts['lint:arch']!, /--ignore-known/);
    const run = lintArch(root);
    assert.equal(run.status, 0, run.output);
  });

  it('fails on planted violations: upward import, cycle, impure src/domain, workflow, host and console imports', () => {
    // One run over a copy of the tree with every probe planted (a run takes seconds); each must be reported.
    const tmp = mkdtempSync(join(tmpdir(), 'arch-probe-'));
    try {
      for (const p of [
        'src',
        'activities',
        'workflows',
        'console',
        'tsconfig.json',
        '.dependency-cruiser.mjs',
      ]) {
        cpSync(join(root, p), join(tmp, p), { recursive: true });
      }
      symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'), 'dir');
      const probes: Record<string, [string, RegExp]> = {
        'src/db/probe-upward.ts': [
          "import '../ingest/accept-event.js';\nexport const probe = 1;\n",
          /error no-upward-from-base: src\/db\/probe-upward\.ts → src\/ingest\/accept-event\.ts/,
        ],
        'src/delivery/probe-a.ts': [
          "import { b } from './probe-b.js';\nexport const a = () => b;\n",
          /error no-circular: src\/delivery\/probe-a\.ts →\s+src\/delivery\/probe-b\.ts →\s+src\/delivery\/probe-a\.ts/,
        ],
        'src/delivery/probe-b.ts': ["import { a } from './probe-a.js';\nexport const b = () => a;\n", /./],
        'src/domain/probe.ts': [
          "import { createPool } from '../db/pool.js';\nexport const p = createPool;\n",
          /error domain-imports-only-domain: src\/domain\/probe\.ts → src\/db\/pool\.ts/,
        ],
        'workflows/probe.ts': [
          "import { createActivities } from '../activities/index.js';\nexport const p = createActivities;\n",
          /error workflows-import-activity-types-only: workflows\/probe\.ts → activities\/index\.ts/,
        ],
        'workflows/probe-pkg.ts': [
          "import { z } from 'zod';\nexport const p = z;\n",
          /error workflows-allowlist: workflows\/probe-pkg\.ts → node_modules\/zod\//,
        ],
        'console/probe.ts': [
          "import { errors } from '../src/errors.js';\nexport const p = errors;\n",
          /error console-calls-only-the-api: console\/probe\.ts → src\/errors\.ts/,
        ],
        'src/api/probe.ts': [
          "import '../main/host/worker.js';\nexport const p = 1;\n",
          /error temporal-host-only-from-main: src\/api\/probe\.ts → src\/main\/host\/worker\.ts/,
        ],
      };
      for (const [path, [text]] of Object.entries(probes)) writeFileSync(join(tmp, path), text);
      const run = lintArch(tmp);
      assert.notEqual(run.status, 0, run.output);
      for (const [path, [, reported]] of Object.entries(probes)) assert.match(run.output, reported, path);
      // Nothing but the probes: the copy itself passes, as `npm run lint` does on the tree.
      const lines = run.output.split('\n').filter((l) => /^\s+error /.test(l));
      assert.deepEqual(
        lines.filter((l) => !/probe/.test(l)),
        [],
        'only the planted files are reported',
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
