import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal SDK's own logs (worker state, core) into our pino logger. */
function pinoAdapter(logger: Logger): TemporalLogger {
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => {
    // The bundler's webpack report is many lines of build stats: debug detail, not an event.
    const effective = level === 'INFO' && message.includes('webpack') ? 'DEBUG' : level;
    logger[LEVELS[effective]]({ temporal: meta }, message);
  };
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}

let installed = false;

/** Installs the Temporal runtime once per process, before any connection or worker is made. */
export function installTemporalRuntime(logger: Logger, metrics?: { host: string; port: number }): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: pinoAdapter(logger.child({ component: 'temporal-sdk' })),
    // Our entry points own SIGTERM/SIGINT and drain in order (HTTP first, then workers).
    shutdownSignals: [],
    // Core (Rust) logs go through the same logger instead of straight to stderr.
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      // The SDK's worker metrics (temporal_* names: polls, slots, task latencies) on a port of their own.
      ...(metrics ? { metrics: { prometheus: { bindAddress: `${metrics.host}:${metrics.port}` } } } : {}),
    },
  });
}
