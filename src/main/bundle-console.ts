/**
 * Build step: bundles the console (console/, Preact) into dist/console-bundle, where the compiled API finds
 * it, so the production image serves it without esbuild (a dev dependency) or the source.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleConsole } from '../api/console/assets.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: bundle-console <output directory>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const { js, css } = await bundleConsole();
writeFileSync(join(out, 'app.js'), js);
writeFileSync(join(out, 'app.css'), css);
console.log(`bundle-console: ${out} (${(js.length / 1024).toFixed(0)} KiB of script)`);
