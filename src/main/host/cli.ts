import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finds the `temporal` CLI (which carries the dev server and its Web UI), installing it with Go if needed.
 *
 * Order: $TEMPORAL_CLI, then PATH, then Go's bin folder ($GOBIN, $GOPATH/bin, ~/go/bin). If none has it and
 * Go is present, `go install` builds it into Go's bin folder, outside the clone, so every later clone and
 * CI run on the machine reuses it. Without Go it explains how to get it.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** The newest release that `go install` can build (later tags carry a `replace` in go.mod). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

type Say = (line: string) => void;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function goBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    const out = execFileSync('go', ['env', 'GOBIN', 'GOPATH'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [gobin, gopath] = out.split('\n');
    if (gobin) dirs.push(gobin);
    for (const p of (gopath ?? '').split(delimiter)) if (p) dirs.push(join(p, 'bin'));
  } catch {
    // no Go: fall through to the conventional folder
  }
  if (process.env.HOME) dirs.push(join(process.env.HOME, 'go', 'bin'));
  return [...new Set(dirs)];
}

export function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Where the CLI is, without installing anything; null if nowhere. */
export function findTemporalCli(): { path: string; source: string } | null {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: fromEnv, source: 'TEMPORAL_CLI' };
    throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'temporal'))) return { path: join(dir, 'temporal'), source: 'PATH' };
  }
  for (const dir of goBinDirs()) {
    if (isExecutable(join(dir, 'temporal')))
      return { path: join(dir, 'temporal'), source: `Go's bin folder (${dir})` };
  }
  return null;
}

const HOW_TO_GET_IT = `The Temporal CLI (which includes the dev server and Web UI) was not found.
Install it in one of these ways, then run this command again:
  - with Go >= 1.25:  go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}
  - with Homebrew:    brew install temporal
  - a release binary: https://github.com/temporalio/cli/releases (put it on PATH or set TEMPORAL_CLI=/path/to/temporal)`;

/** Finds the CLI or installs it with `go install`; says what it did through `say`. */
export async function ensureTemporalCli(say: Say = console.log): Promise<string> {
  const found = findTemporalCli();
  if (found) {
    say(`temporal CLI: ${found.path} (from ${found.source})`);
    return found.path;
  }
  if (!hasGo()) throw new Error(HOW_TO_GET_IT);
  say(`temporal CLI not found; building it: go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`);
  say("  (about 5 minutes the first time; it installs into Go's bin folder and is reused afterwards)");
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install exited with ${code}\n${HOW_TO_GET_IT}`)),
    );
  });
  const installed = findTemporalCli();
  if (!installed)
    throw new Error(`go install succeeded but no temporal binary appeared in ${goBinDirs().join(', ')}`);
  say(`temporal CLI installed in ${Math.round((Date.now() - started) / 1000)}s: ${installed.path}`);
  return installed.path;
}
