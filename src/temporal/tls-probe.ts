import { connect, type ConnectionOptions } from 'node:tls';
import type { TemporalConnectOptions } from './connection-options.js';

/**
 * Why a TLS connection to the Temporal frontend cannot succeed, found by one handshake of our own: the
 * SDKs report a refused client certificate or an untrusted server only as "Failed to connect before the
 * deadline", which reads like a server still starting. A refusal is final (waiting does not change a
 * certificate), so the programs stop at once and say what to check.
 *
 * Answers the TLS error (an `ERR_SSL_*`/`ERR_TLS_*` code or a certificate verification failure), or null
 * when the handshake is accepted, the options ask for no TLS, or the failure is not TLS's (nobody
 * listening, a reset, a timeout: worth retrying).
 */
export async function tlsRefusalOf(
  options: TemporalConnectOptions,
  timeoutMs = 5_000,
): Promise<string | null> {
  if (!options.tls) return null;
  const { host, port } = splitAddress(options.address);
  const tls = options.tls === true ? {} : options.tls;
  const settings: ConnectionOptions = {
    host,
    port,
    servername: tls.serverNameOverride ?? (isIp(host) ? undefined : host),
    ALPNProtocols: ['h2'],
    ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
    ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
  };
  return new Promise((resolve) => {
    const socket = connect(settings);
    const done = (answer: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('secureConnect', () => {
      // With TLS 1.3 the server judges our certificate after our side of the handshake is done: its
      // verdict is its first answer, an alert or its HTTP/2 settings.
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    });
    socket.once('data', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(isTlsError(err) ? describe(err) : null));
    socket.once('close', () => done(null));
  });
}

const VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

function isTlsError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || VERIFY_CODES.has(code);
}

function describe(err: NodeJS.ErrnoException): string {
  // OpenSSL's "...:SSL routines:<function>:<reason>:<source file>:<line>:..." says it in <reason>.
  const openssl = /SSL routines:[^:]*:([^:]+):/.exec(err.message);
  return `${err.code}: ${openssl ? openssl[1] : err.message.split('\n')[0]}`;
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  return { host, port: Number(address.slice(at + 1)) };
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/**
 * The error to stop with when connecting failed because the server refused this process's TLS (or this
 * process refused the server's certificate): checked by a handshake of our own, since the SDKs' own error
 * does not tell. Null when TLS is not the reason (keep retrying).
 */
export async function tlsRefusal(options: TemporalConnectOptions): Promise<Error | null> {
  const reason = await tlsRefusalOf(options);
  if (!reason) return null;
  return new Error(
    `Temporal at ${options.address} refused the TLS connection (${reason}). Check TEMPORAL_TLS_CERT and ` +
      "TEMPORAL_TLS_KEY (a client certificate the cluster's CA signed), TEMPORAL_TLS_CA (the CA of the server's " +
      'certificate) and TEMPORAL_TLS_SERVER_NAME (the name in it); waiting will not help, so this stops here.',
  );
}
