import { createHmac } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './stats.js';
import type { Tracker } from './tracker.js';

/**
 * The local webhook receivers: one HTTP server on 127.0.0.1, one path per endpoint. Each request is checked
 * against the path's Standard Webhooks secret, its arrival time and `data.eventId` go to the tracker, and it
 * gets 200 at once, or 503 while its path prefix is marked down (the drain phase). A path prefix can also be
 * made to fail every request (500 at once) or to hang (no answer: the sender's timeout ends it), or to answer
 * 503 to the first request of each webhook-id only (a failed first attempt, then a success: the cost phase),
 * and the arrivals under a watched prefix are recorded (the neighbours section).
 */
export type FailingBehaviour = 'error' | 'hang' | 'first';

export interface WatchedPrefix {
  /** Arrival times of the requests answered 200. */
  ok: number[];
  /** Requests answered 500 by a failing prefix. */
  errors: number;
  /** Requests left unanswered by a hanging prefix. */
  hung: number;
}

export interface BenchReceiver {
  url(path: string): string;
  setSecret(path: string, secret: string): void;
  /** Answer 503 on every path starting with `prefix` until set up again. */
  setDown(prefix: string, down: boolean): void;
  /**
   * Fail every request to a path starting with `prefix`: `error` answers 500 at once, `hang` answers nothing
   * (until the sender gives up, the behaviour is cleared, or HANG_MAX_MS passes), `first` answers 503 to the
   * first request of each webhook-id and handles its retries normally. `null` clears it and ends the
   * requests still hanging there.
   */
  setFailing(prefix: string, behaviour: FailingBehaviour | null): void;
  /** Records what arrives under `prefix` from now on (the same object on every call). */
  watch(prefix: string): WatchedPrefix;
  counts(): {
    requests: number;
    ok: number;
    unavailable: number;
    badSignatures: number;
    bytes: number;
    /** First attempts answered 503 under a `first` prefix. */
    failedFirst: number;
  };
  stop(): Promise<void>;
}

/** The longest a hanging path holds a request (above the longest endpoint timeout, 60 s). */
export const HANG_MAX_MS = 70_000;

export async function startBenchReceiver(tracker: Tracker): Promise<BenchReceiver> {
  const secrets = new Map<string, Buffer>();
  const down = new Set<string>();
  const failing = new Map<string, FailingBehaviour>();
  const watched = new Map<string, WatchedPrefix>();
  const hanging = new Map<ServerResponse, { prefix: string; timer: NodeJS.Timeout }>();
  const counts = { requests: 0, ok: 0, unavailable: 0, badSignatures: 0, bytes: 0, failedFirst: 0 };
  const firstSeen = new Set<string>();
  const watchOf = (path: string) => {
    for (const [prefix, w] of watched) if (path.startsWith(prefix)) return w;
    return undefined;
  };
  const release = (res: ServerResponse) => {
    const h = hanging.get(res);
    if (!h) return;
    clearTimeout(h.timer);
    hanging.delete(res);
    if (!res.writableEnded && !res.destroyed) res.writeHead(500).end('gave up hanging');
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      counts.requests++;
      const path = (req.url ?? '/').split('?')[0]!;
      if ([...down].some((prefix) => path.startsWith(prefix))) {
        counts.unavailable++;
        res.writeHead(503).end('down');
        return;
      }
      const failPrefix = [...failing.keys()].find((prefix) => path.startsWith(prefix));
      if (failPrefix !== undefined && failing.get(failPrefix) === 'first') {
        const id = header(req.headers['webhook-id']);
        if (!firstSeen.has(id)) {
          firstSeen.add(id);
          counts.failedFirst++;
          res.writeHead(503, { 'content-type': 'text/plain' }).end('first attempt refused');
          return;
        }
      } else if (failPrefix !== undefined) {
        const w = watchOf(path);
        if (failing.get(failPrefix) === 'error') {
          if (w) w.errors++;
          res.writeHead(500, { 'content-type': 'text/plain' }).end('failing');
          return;
        }
        if (w) w.hung++;
        // Bounded: answered 500 after HANG_MAX_MS at the latest, forgotten when the sender hangs up.
        hanging.set(res, { prefix: failPrefix, timer: setTimeout(() => release(res), HANG_MAX_MS) });
        res.on('close', () => {
          const h = hanging.get(res);
          if (h) clearTimeout(h.timer);
          hanging.delete(res);
        });
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      counts.bytes += body.length;
      const id = header(req.headers['webhook-id']);
      const key = secrets.get(path);
      if (!key || !verify(key, id, header(req.headers['webhook-timestamp']), body, req.headers)) {
        counts.badSignatures++;
      }
      let eventId: string | undefined;
      try {
        eventId = (JSON.parse(body) as { data?: { eventId?: string } }).data?.eventId;
      } catch {
        // not JSON: counted as untracked
      }
      counts.ok++;
      watchOf(path)?.ok.push(at);
      tracker.delivery(path, id || `no-id-${counts.requests}`, eventId, at);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 65_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    setSecret: (path, secret) => secrets.set(path, Buffer.from(secret.replace(/^whsec_/, ''), 'base64')),
    setDown: (prefix, isDown) => (isDown ? down.add(prefix) : down.delete(prefix)),
    setFailing(prefix, behaviour) {
      if (behaviour) {
        failing.set(prefix, behaviour);
        return;
      }
      failing.delete(prefix);
      for (const [res, h] of [...hanging]) if (h.prefix === prefix) release(res);
    },
    watch(prefix) {
      let w = watched.get(prefix);
      if (!w) watched.set(prefix, (w = { ok: [], errors: 0, hung: 0 }));
      return w;
    },
    counts: () => ({ ...counts }),
    async stop() {
      for (const res of [...hanging.keys()]) release(res);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function verify(
  key: Buffer,
  id: string,
  timestamp: string,
  body: string,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return header(headers['webhook-signature'])
    .split(' ')
    .some((entry) => entry === `v1,${expected}`);
}
