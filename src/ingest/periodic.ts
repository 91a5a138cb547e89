/**
 * Runs `tick` every `intervalMs` (never two at once) until stopped; a tick that throws is reported and the
 * next one runs as usual. stop() returns once the tick in flight is done: a tick should look at
 * `stopping()` between units of work, so a process draining on SIGTERM does not spend its grace period on it.
 */
export function runEvery(
  intervalMs: number,
  tick: (stopping: () => boolean) => Promise<void>,
  onError: (err: Error) => void,
): { stop: () => Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const stopping = () => stopped;
  const timer = setInterval(() => {
    running = running.then(() => (stopped ? undefined : tick(stopping).catch(onError)));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
