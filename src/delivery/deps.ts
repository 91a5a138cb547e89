import type { ActivityDeps } from '../../activities/index.js';
import type { Config } from '../config.js';
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

/** The activities' dependencies as a process (API with embedded worker, or worker) wires them. */
export function activityDepsFrom(
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ENDPOINT_DISABLE_AFTER' | 'DELIVERY_FAILING_AFTER_ATTEMPTS'>,
  runtime: DeliveryRuntime,
  io: Pick<ActivityDeps, 'pool' | 'client' | 'logger'>,
): ActivityDeps {
  return {
    ...io,
    cipher: runtime.cipher,
    http: runtime.http,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    health: {
      disableAfterMs: config.ENDPOINT_DISABLE_AFTER,
      failingAfterAttempts: config.DELIVERY_FAILING_AFTER_ATTEMPTS,
    },
  };
}
