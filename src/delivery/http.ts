import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { printablePreview } from './body-preview.js';
import { checkAddress, guardedLookup, SsrfBlockedError, type SsrfPolicy } from './ssrf.js';

/**
 * The receiver's answer to one attempt, or why there was none. Once a status line has arrived it is the
 * answer, whatever its body then does: the body is read up to {@link RESPONSE_BODY_LIMIT} bytes for a
 * short grace after the headers and kept as a printable preview; anything that goes wrong while reading it
 * is a note, never an error.
 */
export interface HttpOutcome {
  statusCode: number | null;
  retryAfter: string | null;
  /** A printable preview of the body's first bytes (see printablePreview), or null without a response. */
  body: string | null;
  /** Body bytes received (reading stops a little past the preview). */
  bodyBytes: number;
  contentType: string | null;
  durationMs: number;
  errorClass: 'timeout' | 'connection' | 'dns' | 'tls' | 'ssrf_blocked' | 'invalid_url' | 'cancelled' | null;
  /** What the attempt log shows the tenant. */
  errorMessage: string | null;
  /** What happened to the body after the status line (cut at the grace, reset...), for the log. */
  bodyNote: string | null;
  /** The underlying cause, for operators' logs only: it may name internal addresses. */
  internalCause: string | null;
}

export const RESPONSE_BODY_LIMIT = 4 * 1024;
/** How long a body may keep arriving after the status line before it is cut; the answer stands. */
export const BODY_GRACE_MS = 1_500;
/** Bytes read before the rest of a body is dropped unread. */
const BODY_READ_LIMIT = 64 * 1024;

export interface HttpSender {
  post(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<HttpOutcome>;
  /** Any method; a null body sends none (a GET postback), without a content-length. */
  send(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body: string | null,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<HttpOutcome>;
  close(): void;
}

/**
 * Sends deliveries over keep-alive agents whose DNS lookups pass through the SSRF guard, so the address
 * actually connected to is the one checked. Redirects are never followed (a 3xx is an answer). The
 * timeout runs until the status line arrives; `signal` aborts the request (a delivery really cancelled).
 */
export function createHttpSender(policy: SsrfPolicy): HttpSender {
  const lookup = guardedLookup(policy);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 50, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 50, lookup } as https.AgentOptions),
  };
  const send: HttpSender['send'] = (method, url, headers, body, timeoutMs, signal) => {
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
    if (signal?.aborted) return Promise.resolve(failure('cancelled', 'cancelled before sending', elapsed()));
    return new Promise<HttpOutcome>((resolve) => {
      const req = (target.protocol === 'https:' ? https : http).request(target, {
        method,
        agent,
        headers: body === null ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      });
      const timer = setTimeout(() => req.destroy(new TimeoutError(timeoutMs)), timeoutMs);
      const onAbort = () => req.destroy(new CancelledError());
      signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      const done = (o: HttpOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(o);
      };
      let answered: ((note: string | null) => void) | null = null;
      req.on('response', (res) => {
        clearTimeout(timer);
        answered = readBody(res, elapsed, done);
      });
      req.on('error', (err: Error & { code?: string }) => {
        // After the status line, a failure is the body's, not the attempt's.
        if (answered) answered(`body cut: ${err.message}`);
        else done(classify(err, host, elapsed()));
      });
      if (body === null) req.end();
      else req.end(body);
    });
  };
  return {
    post: (url, headers, body, timeoutMs, signal) => send('POST', url, headers, body, timeoutMs, signal),
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/**
 * Reads a response body for at most {@link BODY_GRACE_MS} and {@link BODY_READ_LIMIT} bytes, then settles
 * with the status line's answer. Returns the function that settles early (the request failed meanwhile).
 */
function readBody(res: IncomingMessage, elapsed: () => number, done: (o: HttpOutcome) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  let note: string | null = null;
  const finish = (why: string | null) => {
    clearTimeout(grace);
    note ??= why;
    const kept = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT);
    done({
      statusCode: res.statusCode ?? null,
      retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
      body: printablePreview(kept),
      bodyBytes: size,
      contentType: res.headers['content-type'] ?? null,
      durationMs: elapsed(),
      errorClass: null,
      errorMessage: null,
      bodyNote: note,
      internalCause: null,
    });
    if (!res.complete) res.destroy();
  };
  const grace = setTimeout(
    () => finish(`body cut: still arriving ${BODY_GRACE_MS} ms after the status line`),
    BODY_GRACE_MS,
  );
  res.on('data', (chunk: Buffer) => {
    if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk);
    size += chunk.length;
    // Enough kept: drop the rest without reading it all into memory.
    if (size > BODY_READ_LIMIT) finish(`body cut after ${size} bytes`);
  });
  res.on('end', () => finish(null));
  res.on('close', () => finish(res.complete ? null : 'body cut: the connection closed'));
  res.on('error', (err) => finish(`body cut: ${err.message}`));
  return finish;
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

class CancelledError extends Error {
  constructor() {
    super('the delivery was cancelled during the attempt');
    this.name = 'CancelledError';
  }
}

function failure(
  errorClass: HttpOutcome['errorClass'],
  message: string,
  durationMs: number,
  internalCause: string | null = null,
): HttpOutcome {
  return {
    statusCode: null,
    retryAfter: null,
    body: null,
    bodyBytes: 0,
    contentType: null,
    durationMs,
    errorClass,
    errorMessage: message,
    bodyNote: null,
    internalCause,
  };
}

function classify(err: Error & { code?: string }, host: string, durationMs: number): HttpOutcome {
  if (err instanceof TimeoutError) return failure('timeout', err.message, durationMs);
  if (err instanceof CancelledError) return failure('cancelled', err.message, durationMs);
  if (
    err instanceof SsrfBlockedError ||
    err.code === 'ERR_SSRF_BLOCKED' ||
    err.code === 'ENOTFOUND' ||
    err.code === 'EAI_AGAIN'
  ) {
    // One message for a name that does not resolve and a name the guard refuses: telling them apart
    // would let a tenant map the internal DNS through the attempt log. Operators get the cause in logs.
    return failure(
      'dns',
      `${host} does not resolve to an address deliveries may reach`,
      durationMs,
      err.message,
    );
  }
  if (err.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(err.message)) {
    return failure('tls', err.message, durationMs);
  }
  return failure('connection', `${err.code ?? 'error'}: ${err.message}`, durationMs);
}
