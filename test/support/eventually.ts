/**
 * Polls `get` every 100 ms until it answers something other than `undefined`, and returns that; throws,
 * naming `what`, after `timeoutMs`. For waits on work the system finishes in its own time (a delivery, a
 * settlement), never for timing assertions.
 */
export async function eventually<T>(
  what: string,
  get: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
