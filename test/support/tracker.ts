import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the tracker saw it: the raw query string, undecoded, is what a tracker parses. */
export interface Hit {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status: number;
  body?: string;
}

/** A tracker stub: per path, scripted answers in order (then 200 "OK"), and every request recorded. */
export async function startTracker() {
  const scripts = new Map<string, Reply[]>();
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      hits.push({
        method: req.method ?? '',
        path,
        query: q < 0 ? '' : raw.slice(q + 1),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const reply = scripts.get(path)?.shift() ?? { status: 200, body: 'OK' };
      res.writeHead(reply.status, { 'content-type': 'text/plain' });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path: string) => `${origin}${path}`,
    script: (path: string, replies: Reply[]) => scripts.set(path, [...replies]),
    hits: (path: string) => hits.filter((h) => h.path === path),
    /** The raw query strings of the requests to `path`, in order. */
    queries: (path: string) => hits.filter((h) => h.path === path).map((h) => h.query),
    /** Every request's path, in order. */
    paths: () => hits.map((h) => h.path),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Tracker = Awaited<ReturnType<typeof startTracker>>;
