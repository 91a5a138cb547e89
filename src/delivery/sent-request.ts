import type { HttpSender } from './http.js';

/**
 * A delivery's request as it went out, for its attempt log (GET /v1/deliveries/{id}): method, URL, headers
 * and the body's first 4 KiB. Only header values known to carry no secret are kept; the signature keeps its
 * version tag, and every other value (the endpoint's own headers: API keys, bearer tokens) is masked.
 */
export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  bodyBytes: number;
}

export const MASKED = '[masked]';
export const REQUEST_BODY_LIMIT = 4 * 1024;
const SHOWN = new Set(['user-agent', 'content-type', 'webhook-id', 'webhook-timestamp']);

function maskHeader(name: string, value: string): string {
  const lower = name.toLowerCase();
  if (SHOWN.has(lower)) return value;
  // `v1,<base64> v1,<base64>`: how many secrets signed, and with which scheme, but no signature.
  if (lower === 'webhook-signature')
    return value
      .split(' ')
      .map((s) => `${s.split(',')[0]},${MASKED}`)
      .join(' ');
  return MASKED;
}

/** A URL's password, if it carries one, masked. */
function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = 'masked';
    return u.toString();
  } catch {
    return url;
  }
}

export function describeRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | null,
): SentRequest {
  return {
    method,
    url: maskUrl(url),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, maskHeader(k, v)])),
    body: body === null ? null : body.slice(0, REQUEST_BODY_LIMIT),
    bodyBytes: body === null ? 0 : Buffer.byteLength(body),
  };
}

/** An HttpSender that notes the last request it sent (described, masked) for the attempt log. */
export function recordingSender(http: HttpSender): { sender: HttpSender; sent: () => SentRequest | null } {
  let last: SentRequest | null = null;
  const sender: HttpSender = {
    post(url, headers, body, timeoutMs, signal) {
      last = describeRequest('POST', url, headers, body);
      return http.post(url, headers, body, timeoutMs, signal);
    },
    send(method, url, headers, body, timeoutMs, signal) {
      last = describeRequest(method, url, headers, body);
      return http.send(method, url, headers, body, timeoutMs, signal);
    },
    close: () => http.close(),
  };
  return { sender, sent: () => last };
}
