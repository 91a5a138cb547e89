/**
 * Bounds a Temporal call. A NativeConnection keeps retrying unavailable calls past the deadline given to
 * `withDeadline` (measured: ~9 s against a stopped server), so the caller stops waiting here instead.
 * The call itself may still land later; every call we bound this way is idempotent or read-only.
 */
export async function boundedWait<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  call.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalTimeout(what, ms)), ms);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

export class TemporalTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`Temporal did not answer ${what} within ${ms} ms`);
    this.name = 'TemporalTimeout';
  }
}
