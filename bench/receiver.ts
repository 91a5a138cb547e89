import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './stats.js';
import type { Tracker } from './tracker.js';

/**
 * The local webhook receivers: one HTTP server on 127.0.0.1, one path per endpoint. Each request is checked
 * against the path's Standard Webhooks secret, its arrival time and `data.eventId` go to the tracker, and it
 * gets 200 at once, or 503 while its path prefix is marked down (the drain phase).
 */
export interface BenchReceiver {
  url(path: string): string;
  setSecret(path: string, secret: string): void;
  /** Answer 503 on every path starting with `prefix` until set up again. */
  setDown(prefix: string, down: boolean): void;
  counts(): { requests: number; ok: number; unavailable: number; badSignatures: number; bytes: number };
  stop(): Promise<void>;
}

export async function startBenchReceiver(tracker: Tracker): Promise<BenchReceiver> {
  const secrets = new Map<string, Buffer>();
  const down = new Set<string>();
  const counts = { requests: 0, ok: 0, unavailable: 0, badSignatures: 0, bytes: 0 };
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
    counts: () => ({ ...counts }),
    async stop() {
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
