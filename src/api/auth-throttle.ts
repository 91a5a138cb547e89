/**
 * Failed authentications per source address, per API process: after `max` wrong keys or admin tokens from one
 * address within a window, further requests from it that present a key this process has not verified are
 * answered `429` without a database lookup or a hash comparison, until the window ends. Keys already verified
 * (in the API-key cache) keep working, so one misconfigured client behind a shared address does not lock out
 * the others that authenticated before it. Bounded: at most `maxAddresses` are tracked, the oldest dropped.
 */
export interface AuthThrottleOptions {
  max?: number;
  windowMs?: number;
  maxAddresses?: number;
  now?: () => number;
}

export class AuthFailureThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(o: AuthThrottleOptions = {}) {
    this.max = o.max ?? 20;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxAddresses = o.maxAddresses ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** Seconds until the address may try unverified keys again; 0 when it may now. */
  blockedFor(address: string): number {
    const w = this.current(address);
    return w && w.failures >= this.max
      ? Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000))
      : 0;
  }

  fail(address: string): void {
    const w = this.current(address);
    if (w) {
      w.failures += 1;
      return;
    }
    while (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(address, { start: this.now(), failures: 1 });
  }

  private current(address: string) {
    const w = this.windows.get(address);
    if (w && this.now() - w.start >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }
}
