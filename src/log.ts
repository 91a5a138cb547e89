import { pino, type Logger } from 'pino';

/**
 * JSON logs. Request and delivery loggers are children carrying ids; bodies, headers, secrets and API keys
 * are never passed in, and the redact list is a second line of defence.
 */
export function createLogger(level: string, name = 'affiliate-hooks'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'apiKey',
        'secret',
        'authorization',
        '*.apiKey',
        '*.secret',
        '*.authorization',
        'headers',
        'body',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
