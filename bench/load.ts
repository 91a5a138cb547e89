import { Agent, request } from 'node:http';
import { now, sleep } from './stats.js';
import type { ShapeName, TrackedEvent, Tracker } from './tracker.js';

/**
 * The load generator: an open loop that offers events at a fixed rate, whatever the system answers, with a
 * cap on requests in flight. An event that would exceed the cap is not sent and counted as skipped (the
 * system is not keeping up with the offered rate).
 */
export interface Shape {
  name: ShapeName;
  /** Deliveries each event must produce to count as delivered. */
  expected: number;
  /** Sends one event; must record its acceptance in the tracker. Never rejects. */
  send(ev: TrackedEvent): Promise<void>;
}

export interface LoadResult {
  phase: string;
  rate: number;
  startedAt: number;
  endedAt: number;
  offered: number;
  skipped: number;
}

export interface LoadOptions {
  phase: string;
  rate: number;
  durationMs: number;
  maxInFlight: number;
  /** Stop earlier once this many events have been offered. */
  maxEvents?: number;
  /** How long to wait for requests still in flight after the offering ends. */
  settleMs?: number;
  /** Ends the offering early. */
  signal?: AbortSignal;
}

let sequence = 0;

export async function runLoad(
  tracker: Tracker,
  shape: Shape,
  idPrefix: string,
  o: LoadOptions,
): Promise<LoadResult> {
  const startedAt = now();
  const maxEvents = o.maxEvents ?? Math.ceil((o.rate * o.durationMs) / 1000);
  let offered = 0;
  let skipped = 0;
  let inFlight = 0;
  const running = new Set<Promise<void>>();
  for (;;) {
    const elapsed = now() - startedAt;
    if (elapsed >= o.durationMs || offered + skipped >= maxEvents || o.signal?.aborted) break;
    const due = Math.min(maxEvents, Math.floor((elapsed / 1000) * o.rate) + 1);
    while (offered + skipped < due) {
      if (inFlight >= o.maxInFlight) {
        skipped++;
        continue;
      }
      offered++;
      inFlight++;
      const ev = tracker.sent(`${idPrefix}-${++sequence}`, shape.name, o.phase, shape.expected, now());
      const p: Promise<void> = shape.send(ev).finally(() => {
        inFlight--;
        running.delete(p);
      });
      running.add(p);
    }
    const nextDue = ((offered + skipped) / o.rate) * 1000;
    await sleep(Math.max(1, Math.min(20, nextDue - (now() - startedAt))));
  }
  // Ended by the count: the last event is due a whole interval before the nominal end; keep the pace.
  const nominalEnd = startedAt + ((offered + skipped) / o.rate) * 1000;
  if (!o.signal?.aborted && now() < nominalEnd) await sleep(Math.min(o.durationMs, nominalEnd - now()));
  const endedAt = now();
  const settle = Promise.all(running);
  await Promise.race([settle, sleep(o.settleMs ?? 30_000)]);
  return { phase: o.phase, rate: o.rate, startedAt, endedAt, offered, skipped };
}

/** The product's sender: POST /v1/events with an operator key over keep-alive connections. */
export function productShape(opts: {
  tracker: Tracker;
  apiUrl: string;
  apiKey: string;
  expected: number;
  maxSockets: number;
  body: (eventId: string) => string;
}): Shape & { close(): void } {
  const url = new URL('/v1/events', opts.apiUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
    throw new Error(`the bench sends traffic only to this machine, not to ${url.hostname}`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets, keepAliveMsecs: 10_000 });
  return {
    name: 'product',
    expected: opts.expected,
    close: () => agent.destroy(),
    send(ev) {
      const body = opts.body(ev.id);
      const started = performance.now();
      return new Promise<void>((resolve) => {
        let done = false;
        const finish = (status: number) => {
          if (done) return;
          done = true;
          opts.tracker.accepted(ev, status, now(), performance.now() - started);
          resolve();
        };
        const req = request(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              authorization: `Bearer ${opts.apiKey}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => finish(res.statusCode ?? 0));
            res.on('error', () => finish(0));
          },
        );
        req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
        req.on('error', () => finish(0));
        req.end(body);
      });
    },
  };
}
