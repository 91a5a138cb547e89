import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { BreakerKey } from '../config/breaker.js';
import { DEFAULT_BREAKER, type BreakerSettings } from '../domain/breaker.js';
import type { Pool } from '../db/pool.js';
import { createHttpSender, type HttpSender } from './http.js';
import { createSecretCipher, type SecretCipher } from './secrets.js';
import type { SsrfPolicy } from './ssrf.js';

/** What delivery needs from the configuration, built once per process. */
export interface DeliveryRuntime {
  cipher: SecretCipher;
  http: HttpSender;
  ssrf: SsrfPolicy;
}

export function createDeliveryRuntime(
  config: Pick<Config, 'SECRETS_ENCRYPTION_KEYS' | 'SSRF_ALLOWLIST' | 'HTTPS_ONLY'>,
): DeliveryRuntime {
  const ssrf: SsrfPolicy = { allow: config.SSRF_ALLOWLIST, httpsOnly: config.HTTPS_ONLY };
  return { cipher: createSecretCipher(config.SECRETS_ENCRYPTION_KEYS), http: createHttpSender(ssrf), ssrf };
}

export interface DeliveryHealth {
  /** An endpoint whose attempts have only failed for this long is disabled. */
  disableAfterMs: number;
  /** `delivery.failing` is emitted after this many failed attempts of one delivery. */
  failingAfterAttempts: number;
}

/**
 * What a delivery attempt runs on: the database, the sender, secrets and the health thresholds. The
 * activities' own dependencies extend it with the Temporal client and the ports the process wires in.
 */
export interface DeliveryDeps {
  pool: Pool;
  cipher: SecretCipher;
  http: HttpSender;
  logger?: Logger | undefined;
  health?: DeliveryHealth | undefined;
  /** The per-endpoint circuit breaker; the defaults (src/domain/breaker.ts) when absent. */
  breaker?: BreakerSettings | undefined;
  random?: () => number;
  now?: () => Date;
}

/** The delivery dependencies as a process (API with embedded worker, or worker) wires them. */
export function deliveryDepsFrom(
  config: Pick<Config, 'ENDPOINT_DISABLE_AFTER' | 'DELIVERY_FAILING_AFTER_ATTEMPTS'> &
    Partial<Pick<Config, BreakerKey>>,
  runtime: DeliveryRuntime,
  io: Pick<DeliveryDeps, 'pool' | 'logger'>,
): DeliveryDeps {
  return {
    ...io,
    cipher: runtime.cipher,
    http: runtime.http,
    health: {
      disableAfterMs: config.ENDPOINT_DISABLE_AFTER,
      failingAfterAttempts: config.DELIVERY_FAILING_AFTER_ATTEMPTS,
    },
    breaker: {
      failureThreshold: config.BREAKER_FAILURE_THRESHOLD ?? DEFAULT_BREAKER.failureThreshold,
      probeBaseMs: config.BREAKER_PROBE_INTERVAL ?? DEFAULT_BREAKER.probeBaseMs,
      probeMaxMs: config.BREAKER_PROBE_MAX_INTERVAL ?? DEFAULT_BREAKER.probeMaxMs,
      recheckMs: config.BREAKER_RECHECK_INTERVAL ?? DEFAULT_BREAKER.recheckMs,
    },
  };
}
