import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * The headless Chromium the Web UI test drives: Debian's `chromium` package, never a browser build that
 * playwright would download. Found like the Temporal CLI (src/main/host/cli.ts): $CHROMIUM_PATH, then
 * /usr/bin/chromium, then PATH; if none has it and we are root with apt-get, `apt-get install -y chromium`
 * installs it (about a minute, once per machine); otherwise it says how to get it.
 */
type Say = (line: string) => void;

/** The test files that need the browser (test/run.ts finds or installs it before they start). */
export const BROWSER_TEST_FILES = ['test/e2e/web-ui.test.ts', 'test/e2e/console.test.ts'];

const HOW_TO_GET_IT = `Chromium (for the Web UI test) was not found.
Install it in one of these ways, then run this command again:
  - Debian or Ubuntu: sudo apt-get install chromium   (Ubuntu: chromium-browser)
  - any other: install Chromium or Chrome and set CHROMIUM_PATH=/path/to/the/browser`;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where Chromium is, without installing anything; null if nowhere. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable file`);
  }
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (dir && isExecutable(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

function canApt(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function apt(args: string[], say: Say): Promise<number> {
  say(`apt-get ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn('apt-get', args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** Finds Chromium or installs Debian's package; says what it did through `say`. */
export async function ensureChromium(say: Say = console.log): Promise<string> {
  const found = findChromium();
  if (found) {
    say(`chromium: ${found}`);
    return found;
  }
  if (!canApt()) throw new Error(HOW_TO_GET_IT);
  say("chromium: not found; installing Debian's package (about a minute, once)");
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  // A fresh machine's package lists may not know the package yet: update them once and try again.
  if (
    (await apt(install, say)) !== 0 &&
    ((await apt(['update'], say)) !== 0 || (await apt(install, say)) !== 0)
  )
    throw new Error(`apt-get could not install chromium.\n${HOW_TO_GET_IT}`);
  const installed = findChromium();
  if (!installed) throw new Error(`chromium installed, but not found.\n${HOW_TO_GET_IT}`);
  say(`chromium: ${installed} (installed)`);
  return installed;
}

/** A browser session with a new empty profile, removed by `close`. */
export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium at `executablePath` (from ensureChromium): no GPU, no network of its own. */
export async function launchChromium(executablePath: string): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'affiliate-hooks-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
