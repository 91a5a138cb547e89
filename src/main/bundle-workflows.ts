/**
 * Build step: bundles the workflow code once into a file (argv[2]), so production workers load it directly
 * (TEMPORAL_WORKFLOW_BUNDLE) instead of running webpack at every start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundleWorkflows } from './host/worker.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: bundle-workflows <output.js>');
  process.exit(2);
}
mkdirSync(dirname(out), { recursive: true });
const code = await bundleWorkflows();
writeFileSync(out, code);
console.log(`bundle-workflows: ${out} (${(code.length / 1024 / 1024).toFixed(2)} MiB)`);
