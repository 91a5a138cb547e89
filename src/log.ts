import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs. Request and delivery loggers are children carrying ids; bodies, headers, secrets and API keys
 * are never passed in, and the redact list is a second line of defence.
 */
export function createLogger(
  level: string,
  name = 'affiliate-hooks',
  destination?: DestinationStream,
): Logger {
  const options = {
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
        'token',
        '*.token',
        'headers',
        'body',
      ],
      censor: '[redacted]',
    },
  };
  // A destination is for tests that read what was logged; stdout otherwise.
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
