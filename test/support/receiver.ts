import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local webhook receiver for tests: per path, it answers with scripted responses in order (then 200) and
 * records every request it gets, as a real receiver would see it.
 */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Text, or any bytes (a GIF, a gzip stream, UTF-16). */
  body?: string | Buffer;
  /** Answer only after this long (to provoke timeouts). */
  delayMs?: number;
  /** Send the status line and headers at once, then the body in this many pieces, one per `intervalMs`. */
  trickle?: { pieces: number; intervalMs: number };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url(path: string): string;
  script(path: string, replies: Reply[]): void;
  requests(path: string): Received[];
  waitFor(path: string, count: number, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const scripts = new Map<string, Reply[]>();
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const reply = scripts.get(path)?.shift() ?? { status: 200, body: 'ok' };
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers);
        if (reply.trickle) trickle(res, Buffer.from(reply.body ?? ''), reply.trickle);
        else res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://${host}:${port}${path}`,
    script: (path, replies) => scripts.set(path, [...replies]),
    requests: (path) => received.filter((r) => r.path === path),
    async waitFor(path, count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = received.filter((r) => r.path === path);
        if (got.length >= count) return got;
        if (Date.now() > deadline)
          throw new Error(`receiver: ${got.length}/${count} requests on ${path} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `body` in pieces over time, as a slow or stalling receiver does after accepting a request. */
function trickle(
  res: ServerResponse,
  body: Buffer,
  { pieces, intervalMs }: { pieces: number; intervalMs: number },
) {
  res.flushHeaders(); // the status line goes now, not with the first piece
  const size = Math.max(1, Math.ceil(body.length / pieces));
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    const piece = body.subarray(sent * size, (sent + 1) * size);
    sent++;
    if (sent >= pieces) {
      clearInterval(timer);
      res.end(piece);
    } else {
      res.write(piece.length ? piece : ' ');
    }
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}

/**
 * The webhook-ids each event arrived under (keyed by the body's `data.eventId`): a receiver deduplicating
 * on `webhook-id` sees an event once only if its set has one id. `read` parses (or verifies) a body.
 */
export function webhookIdsByEvent(
  requests: Received[],
  read: (r: Received) => { data: { eventId: string } } = (r) => JSON.parse(r.body),
): Map<string, Set<string>> {
  const ids = new Map<string, Set<string>>();
  for (const r of requests) {
    const eventId = read(r).data.eventId;
    const set = ids.get(eventId) ?? new Set<string>();
    set.add(String(r.headers['webhook-id']));
    ids.set(eventId, set);
  }
  return ids;
}
