import { ensureGoTool, findGoTool, type GoTool } from './go-binary.js';

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

export const TEMPORAL_CLI: GoTool = {
  label: 'temporal CLI',
  envVar: 'TEMPORAL_CLI',
  pathNames: ['temporal'],
  goPackage: TEMPORAL_CLI_MODULE,
  version: TEMPORAL_CLI_VERSION,
  goBinName: 'temporal',
  otherWays: [
    'with Homebrew:    brew install temporal',
    'a release binary: https://github.com/temporalio/cli/releases (put it on PATH)',
  ],
};

/** Where the CLI is, without installing anything; null if nowhere. */
export function findTemporalCli(): { path: string; source: string } | null {
  return findGoTool(TEMPORAL_CLI);
}

/** Finds the CLI or installs it with `go install`; says what it did through `say`. */
export async function ensureTemporalCli(say: (line: string) => void = console.log): Promise<string> {
  return ensureGoTool(TEMPORAL_CLI, say);
}
