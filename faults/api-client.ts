/** The fault run's client of the API under test: one call, its status, its JSON (or text) body and headers. */

export type Api = ReturnType<typeof apiClient>;

export function apiClient(apiUrl: string) {
  return async (method: string, path: string, key: string, json?: unknown) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON answers, read by field
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text; // an answer that is not JSON (a proxy's error page, say)
    }
    return { status: res.status, body, headers: res.headers };
  };
}
