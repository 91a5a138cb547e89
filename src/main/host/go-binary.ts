import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finds a program that `go install` builds (the Temporal CLI, the Temporal server, its SQL tool, the Web UI
 * server), installing it with Go if needed, always outside the clone.
 *
 * Order: the tool's environment variable, then PATH (under its release name), then Go's bin folders
 * ($GOBIN, $GOPATH/bin, ~/go/bin, under the name `go install` gives it). A binary whose name says nothing
 * (`server`, `sql`) is taken from a Go bin folder only when `go version -m` shows it was built from the
 * expected package, so one tool is never mistaken for another. If none is found and Go is present,
 * `go install` builds it; without Go the error says how to get it.
 */
export interface GoTool {
  /** Said in messages: "temporal CLI". */
  label: string;
  /** An environment variable naming the binary; when set it must be executable. */
  envVar: string;
  /** Names looked for on PATH (release binaries). */
  pathNames: string[];
  /** The package `go install` builds, without the version. */
  goPackage: string;
  version: string;
  /** The file `go install` writes: the package path's last element. */
  goBinName: string;
  /**
   * A folder under the first Go bin folder that receives this binary (GOBIN for the install), for a tool
   * whose `go install` name would overwrite another's (two packages both named `server`).
   */
  goBinSubdir?: string;
  /** Other ways to get it, one per line, for the error when Go is missing. */
  otherWays: string[];
}

type Say = (line: string) => void;

/** An executable file: a folder is "executable" too, and Go's bin folder holds one named like a tool. */
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function goBinDirs(): string[] {
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

/** The package a Go binary was built from (`go version -m`), or null when Go cannot tell. */
function builtFrom(path: string): string | null {
  try {
    const out = execFileSync('go', ['version', '-m', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /^\s*path\s+(\S+)/m.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Where the tool is, without installing anything; null if nowhere. */
export function findGoTool(tool: GoTool): { path: string; source: string } | null {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: fromEnv, source: tool.envVar };
    throw new Error(`${tool.envVar}=${fromEnv} is not an executable file`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of tool.pathNames) {
      if (dir && isExecutable(join(dir, name))) return { path: join(dir, name), source: 'PATH' };
    }
  }
  const generic = !tool.pathNames.includes(tool.goBinName);
  for (const base of goBinDirs()) {
    const dir = tool.goBinSubdir ? join(base, tool.goBinSubdir) : base;
    const path = join(dir, tool.goBinName);
    if (!isExecutable(path)) continue;
    if (generic && builtFrom(path) !== tool.goPackage) continue;
    return { path, source: `Go's bin folder (${dir})` };
  }
  return null;
}

function howToGetIt(tool: GoTool): string {
  const gobin = tool.goBinSubdir ? `GOBIN=$(go env GOPATH)/bin/${tool.goBinSubdir} ` : '';
  return [
    `The ${tool.label} was not found. Install it in one of these ways, then run this command again:`,
    `  - with Go >= 1.25:  ${gobin}go install ${tool.goPackage}@${tool.version}`,
    ...tool.otherWays.map((way) => `  - ${way}`),
    `  - or set ${tool.envVar}=/path/to/it`,
  ].join('\n');
}

/** Finds the tool or installs it with `go install`; says what it did through `say`. */
export async function ensureGoTool(tool: GoTool, say: Say = console.log): Promise<string> {
  const found = findGoTool(tool);
  if (found) {
    say(`${tool.label}: ${found.path} (from ${found.source})`);
    return found.path;
  }
  if (!hasGo()) throw new Error(howToGetIt(tool));
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' };
  if (tool.goBinSubdir) env.GOBIN = join(goBinDirs()[0]!, tool.goBinSubdir);
  say(`${tool.label} not found; building it: go install ${tool.goPackage}@${tool.version}`);
  say("  (a few minutes the first time; it installs into Go's bin folder and is reused afterwards)");
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', `${tool.goPackage}@${tool.version}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env,
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install exited with ${code}\n${howToGetIt(tool)}`)),
    );
  });
  const installed = findGoTool(tool);
  if (!installed)
    throw new Error(
      `go install succeeded but no ${tool.goBinName} built from ${tool.goPackage} appeared in ${goBinDirs().join(', ')}`,
    );
  say(`${tool.label} installed in ${Math.round((Date.now() - started) / 1000)}s: ${installed.path}`);
  return installed.path;
}
