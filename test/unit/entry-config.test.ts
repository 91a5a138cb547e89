import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * The entry points as an operator starts them, with a broken environment: each checks the settings it reads
 * before doing anything, lists every problem in one message, exits non-zero, and prints no stack trace. No
 * PostgreSQL or Temporal is needed: nothing gets that far.
 */
const root = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'entry-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Only what the test gives: no setting leaks in from the environment running the tests. */
function bareEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...env };
}

function run(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)], {
    cwd: root,
    env: bareEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

/** A stack frame, as Node prints one: `    at fn (file:line:col)`. */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

describe('an entry point started with a broken configuration', () => {
  it('api: a short key, a bad CIDR and a missing admin token are listed together, without a stack trace', async () => {
    const { code, output } = await run('api', {
      SECRETS_ENCRYPTION_KEYS: Buffer.alloc(16, 1).toString('base64'),
      SSRF_ALLOWLIST: '127.0.0.0/8,notacidr',
      PORT: 'eighty',
    });
    assert.notEqual(code, 0, output);
    assert.match(output, /Invalid configuration/);
    assert.match(output, /ADMIN_TOKEN/);
    assert.match(output, /SECRETS_ENCRYPTION_KEYS.*16 bytes/);
    assert.match(output, /SSRF_ALLOWLIST.*notacidr/);
    assert.match(output, /PORT/);
    assert.doesNotMatch(output, STACK_FRAME, output);
  });

  it('worker: checks the key and the allowlist too, but needs no admin token', async () => {
    const { code, output } = await run('worker', {
      SECRETS_ENCRYPTION_KEYS: 'c2hvcnQ=',
      SSRF_ALLOWLIST: 'notacidr',
    });
    assert.notEqual(code, 0, output);
    assert.match(output, /SECRETS_ENCRYPTION_KEYS.*5 bytes/);
    assert.match(output, /SSRF_ALLOWLIST/);
    assert.doesNotMatch(output, /ADMIN_TOKEN/);
    assert.doesNotMatch(output, STACK_FRAME, output);
  });

  it('db:migrate needs only DATABASE_URL: no admin token, no encryption keys', async () => {
    const { code, output } = await run('migrate', { DATABASE_URL: 'not a url', SSRF_ALLOWLIST: 'notacidr' });
    assert.notEqual(code, 0, output);
    assert.match(output, /DATABASE_URL/);
    assert.doesNotMatch(output, /ADMIN_TOKEN|SECRETS_ENCRYPTION_KEYS|SSRF_ALLOWLIST/);
    assert.doesNotMatch(output, STACK_FRAME, output);
  });

  it('db:migrate that cannot reach PostgreSQL says so in one line, without a stack trace', async () => {
    const { code, output } = await run('migrate', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.notEqual(code, 0, output);
    assert.match(output, /migrate failed/);
    assert.doesNotMatch(output, STACK_FRAME, output);
  });

  it('reads .env (ENV_FILE names it), and a variable set in the environment wins over it', async () => {
    const file = join(tmp, 'broken.env');
    writeFileSync(file, '# a comment\nDATABASE_URL=not-a-url-from-dotenv\nADMIN_TOKEN=short\n');
    const fromFile = await run('migrate', { ENV_FILE: file });
    assert.notEqual(fromFile.code, 0, fromFile.output);
    assert.match(fromFile.output, /DATABASE_URL/);
    const overridden = await run('migrate', {
      ENV_FILE: file,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    assert.doesNotMatch(overridden.output, /Invalid configuration/, overridden.output);
    assert.match(overridden.output, /migrate failed/);
  });

  it('a .env file that ENV_FILE names but that does not exist is a configuration problem', async () => {
    const { code, output } = await run('migrate', { ENV_FILE: join(tmp, 'missing.env') });
    assert.notEqual(code, 0, output);
    assert.match(output, /ENV_FILE/);
    assert.doesNotMatch(output, STACK_FRAME, output);
  });
});
