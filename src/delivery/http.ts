import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { checkAddress, guardedLookup, SsrfBlockedError, type SsrfPolicy } from './ssrf.js';

/** The receiver's answer to one attempt, or why there was none. Bodies are cut at 4 KiB. */
export interface HttpOutcome {
  statusCode: number | null;
  retryAfter: string | null;
  body: string | null;
  durationMs: number;
  errorClass: 'timeout' | 'connection' | 'dns' | 'tls' | 'ssrf_blocked' | 'invalid_url' | null;
  errorMessage: string | null;
}

export const RESPONSE_BODY_LIMIT = 4 * 1024;

export interface HttpSender {
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpOutcome>;
  /** Any method; a null body sends none (a GET postback), without a content-length. */
  send(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body: string | null,
    timeoutMs: number,
  ): Promise<HttpOutcome>;
  close(): void;
}

/**
 * Sends deliveries over keep-alive agents whose DNS lookups pass through the SSRF guard, so the address
 * actually connected to is the one checked. Redirects are never followed (a 3xx is an answer).
 */
export function createHttpSender(policy: SsrfPolicy): HttpSender {
  const lookup = guardedLookup(policy);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 50, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 50, lookup } as https.AgentOptions),
  };
  const send: HttpSender['send'] = (method, url, headers, body, timeoutMs) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.resolve(failure('invalid_url', 'the URL does not parse', elapsed()));
    }
    const agent = agents[target.protocol as 'http:' | 'https:'];
    if (!agent)
      return Promise.resolve(failure('invalid_url', `unsupported scheme ${target.protocol}`, elapsed()));
    // Node skips `lookup` for IP literals, so those are checked here.
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const reason = checkAddress(host, policy);
      if (reason) return Promise.resolve(failure('ssrf_blocked', `${host} is ${reason}`, elapsed()));
    }
    return new Promise<HttpOutcome>((resolve) => {
      let settled = false;
      const done = (o: HttpOutcome) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(o);
        }
      };
      const req = (target.protocol === 'https:' ? https : http).request(target, {
        method,
        agent,
        headers: body === null ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      });
      const timer = setTimeout(() => {
        req.destroy(new TimeoutError(timeoutMs));
      }, timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk);
          size += chunk.length;
          // Enough kept: drop the rest without reading it all into memory.
          if (size > 64 * 1024) res.destroy();
        });
        const finish = () =>
          done({
            statusCode: res.statusCode ?? null,
            retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
            body: Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8'),
            durationMs: elapsed(),
            errorClass: null,
            errorMessage: null,
          });
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      req.on('error', (err: Error & { code?: string }) => done(classify(err, elapsed())));
      if (body === null) req.end();
      else req.end(body);
    });
  };
  return {
    post: (url, headers, body, timeoutMs) => send('POST', url, headers, body, timeoutMs),
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

function failure(errorClass: HttpOutcome['errorClass'], message: string, durationMs: number): HttpOutcome {
  return { statusCode: null, retryAfter: null, body: null, durationMs, errorClass, errorMessage: message };
}

function classify(err: Error & { code?: string }, durationMs: number): HttpOutcome {
  if (err instanceof TimeoutError) return failure('timeout', err.message, durationMs);
  if (err instanceof SsrfBlockedError || err.code === 'ERR_SSRF_BLOCKED') {
    return failure('ssrf_blocked', err.message, durationMs);
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return failure('dns', err.message, durationMs);
  if (err.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(err.message)) {
    return failure('tls', err.message, durationMs);
  }
  return failure('connection', `${err.code ?? 'error'}: ${err.message}`, durationMs);
}
