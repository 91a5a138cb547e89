import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Named fault-injection points for crash tests. A point listed in `FAULT_PAUSE_AT` (comma-separated) writes
 * `<FAULT_MARKER_DIR>/<name>` when reached and then never returns, so a test can kill the process exactly
 * there and check that a restart completes the work. Unset (always, outside tests), a point is one string
 * comparison. The variables are read on every call so a test can set them before starting a process.
 */
export async function faultPoint(name: string): Promise<void> {
  const points = process.env.FAULT_PAUSE_AT;
  if (!points || !points.split(',').includes(name)) return;
  const dir = process.env.FAULT_MARKER_DIR;
  if (dir) writeFileSync(join(dir, name), `${process.pid}\n`);
  await new Promise<never>(() => {
    // Paused for good: the test kills this process here.
    setInterval(() => undefined, 60_000);
  });
}
