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
