import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { supervise } from '../../src/main/supervise.js';

/** A real node process running `code`. */
const node = (code: string) => spawn(process.execPath, ['-e', code], { stdio: 'ignore' });

describe('a supervised dev process', () => {
  it('when it dies, then it is said and started again, and keeps running', async () => {
    const lines: string[] = [];
    let starts = 0;
    const s = supervise({
      name: 'api',
      // Dies at once the first time, then stays up.
      start: () => node(++starts === 1 ? 'process.exit(3)' : 'setInterval(() => {}, 1000)'),
      say: (line) => lines.push(line),
      onGiveUp: () => assert.fail('gave up'),
      delayMs: 10,
    });
    while (starts < 2) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(starts, 2);
    assert.deepEqual(lines, ['api exited with code 3; restarting it in 10 ms']);
    const running = s.current();
    assert.equal(running.exitCode, null);
    s.stop();
    running.kill('SIGKILL');
    await new Promise((r) => running.once('exit', r));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(starts, 2, 'a stopped process is not started again');
  });

  it('when it keeps dying, then it is given up on after maxRestarts restarts', async () => {
    const lines: string[] = [];
    let starts = 0;
    const gaveUp = await new Promise<number | null>((resolve) => {
      supervise({
        name: 'worker',
        start: () => (starts++, node('process.exit(7)')),
        say: (line) => lines.push(line),
        onGiveUp: resolve,
        maxRestarts: 2,
        delayMs: 10,
      });
    });
    assert.equal(gaveUp, 7);
    assert.equal(starts, 3);
    assert.match(lines.at(-1)!, /^worker exited with code 7, 3 times within 60 s: giving up$/);
  });
});
