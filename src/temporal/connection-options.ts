import { pemOrFile } from '../pem.js';

/**
 * How to reach the Temporal frontend: a local dev server (address alone), a self-hosted cluster behind TLS
 * (with or without a client certificate, a private CA, a server name), or Temporal Cloud (mTLS, or an API
 * key over TLS). The same options serve the worker's NativeConnection, the client's Connection and
 * `temporal:setup`, so every process connects alike.
 */
export interface TemporalConnectionSettings {
  address: string;
  /** Temporal Cloud API key; implies TLS. */
  apiKey?: string | undefined;
  /** TLS on or off; unset, on when a certificate, CA, server name or API key is given. */
  tls?: boolean | undefined;
  /** Client certificate and key (mTLS): inline PEM or a file path each. */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** The server's CA (inline PEM or a file path), when the system's roots do not cover it. */
  tlsCa?: string | undefined;
  /** The name the server's certificate is checked against, when not the address's host. */
  tlsServerName?: string | undefined;
}

export interface TemporalTlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalConnectOptions {
  address: string;
  tls?: TemporalTlsOptions | boolean;
  apiKey?: string;
}

/** The connection options of the settings; reads certificate files (their absence was checked at start). */
export function temporalConnectOptions(s: TemporalConnectionSettings): TemporalConnectOptions {
  const wantsTls = Boolean(s.tlsCert || s.tlsKey || s.tlsCa || s.tlsServerName || s.apiKey);
  const tlsOn = s.tls ?? wantsTls;
  const out: TemporalConnectOptions = { address: s.address };
  if (s.apiKey) out.apiKey = s.apiKey;
  if (!tlsOn) return out;
  const tls: TemporalTlsOptions = {};
  if (s.tlsServerName) tls.serverNameOverride = s.tlsServerName;
  if (s.tlsCa) tls.serverRootCACertificate = pemOrFile(s.tlsCa);
  if (s.tlsCert && s.tlsKey) tls.clientCertPair = { crt: pemOrFile(s.tlsCert), key: pemOrFile(s.tlsKey) };
  out.tls = Object.keys(tls).length ? tls : true;
  return out;
}

/** The settings from the validated configuration (TEMPORAL_* variables). */
export function temporalSettingsFrom(c: {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_API_KEY?: string | undefined;
  TEMPORAL_TLS?: boolean | undefined;
  TEMPORAL_TLS_CERT?: string | undefined;
  TEMPORAL_TLS_KEY?: string | undefined;
  TEMPORAL_TLS_CA?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
}): TemporalConnectionSettings {
  return {
    address: c.TEMPORAL_ADDRESS,
    apiKey: c.TEMPORAL_API_KEY,
    tls: c.TEMPORAL_TLS,
    tlsCert: c.TEMPORAL_TLS_CERT,
    tlsKey: c.TEMPORAL_TLS_KEY,
    tlsCa: c.TEMPORAL_TLS_CA,
    tlsServerName: c.TEMPORAL_TLS_SERVER_NAME,
  };
}
