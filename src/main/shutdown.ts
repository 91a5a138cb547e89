import type { Logger } from 'pino';

/**
 * Runs `drain` once on SIGTERM or SIGINT, then exits. A second signal, or the grace period running out,
 * exits at once.
 */
export function onShutdown(logger: Logger, graceMs: number, drain: () => Promise<void>): void {
  let draining = 0;
  const handler = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches a process both from the terminal and from a parent forwarding it: one press, one drain.
    if (draining && Date.now() - draining < 2_000) return;
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    draining = Date.now();
    logger.info({ signal, graceMs }, 'draining');
    const timer = setTimeout(() => {
      logger.error('drain took longer than the grace period: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    drain().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: Error) => {
        logger.error({ err: { message: err.message, stack: err.stack } }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
