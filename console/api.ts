/**
 * The console's one way out: the documented REST API under /v1, with the credential in the Authorization
 * header (never in a URL). The operator's API key lives in sessionStorage (this tab only, gone when it
 * closes); a portal token comes from the link's fragment and is kept the same way.
 */

const STORE = { operator: 'affiliate-hooks.apiKey', portal: 'affiliate-hooks.portalToken' } as const;
export type Who = keyof typeof STORE;

export function credential(who: Who): string | null {
  return sessionStorage.getItem(STORE[who]);
}
export function remember(who: Who, token: string): void {
  sessionStorage.setItem(STORE[who], token);
}
export function forget(who: Who): void {
  sessionStorage.removeItem(STORE[who]);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Calls one REST route; answers its JSON, or throws ApiError with the API's code and message. `tryToken`
 * is a key being tried (signing in) instead of the one kept.
 */
export async function call<T>(
  who: Who,
  method: string,
  path: string,
  body?: unknown,
  tryToken?: string,
): Promise<T> {
  if (!path.startsWith('/v1/')) throw new Error(`not a REST route: ${path}`);
  const token = tryToken ?? credential(who);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (res.status === 401 && who === 'operator' && !tryToken && token) {
    // The key was revoked or mistyped: back to signing in, rather than an error on every page.
    forget('operator');
    location.reload();
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? res.statusText);
  }
  return json as T;
}

/** `?a=1&b=2` of the values given (empty ones left out), or ''. */
export function query(params: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
