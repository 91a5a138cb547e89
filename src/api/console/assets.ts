import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The console's browser bundle (console/, Preact): one script and one stylesheet, served by the API itself,
 * so the pages work offline and load nothing from elsewhere. `npm run build` writes it beside the compiled
 * code (dist/console-bundle); without that prebuilt copy (a fresh clone run with tsx) the API bundles the
 * source with esbuild on the first request, once per process.
 */
export interface ConsoleAssets {
  js: string;
  css: string;
}

/** The repository from src/api/console, or dist/ from dist/src/api/console. */
const root = join(import.meta.dirname, '..', '..', '..');
/** Where `npm run build` puts the bundle: dist/console-bundle. */
export const PREBUILT_DIR = join(root, 'console-bundle');
const SOURCE_DIR = join(root, 'console');

/** Bundles console/ from source with esbuild (a dev dependency: absent from the production image). */
export async function bundleConsole(): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [join(SOURCE_DIR, 'main.tsx')],
    tsconfig: join(SOURCE_DIR, 'tsconfig.json'),
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = (ext: string) => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: file('.js'), css: file('.css') };
}

function prebuilt(): ConsoleAssets | null {
  const js = join(PREBUILT_DIR, 'app.js');
  if (!existsSync(js)) return null;
  return { js: readFileSync(js, 'utf8'), css: readFileSync(join(PREBUILT_DIR, 'app.css'), 'utf8') };
}

let loading: Promise<ConsoleAssets> | undefined;

/** The bundle: prebuilt if present, else built from source once (a failed build is tried again next time). */
export function consoleAssets(): Promise<ConsoleAssets> {
  loading ??= Promise.resolve()
    .then(() => prebuilt() ?? bundleConsole())
    .catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
  return loading;
}
