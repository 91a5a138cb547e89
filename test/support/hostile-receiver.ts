import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A receiver that behaves like the trackers and partners deliveries meet in the wild: per path, a script of
 * answers (2xx with awkward bodies, 3xx, 410, 429, 5xx, no answer at all, a body trickled for longer than
 * the endpoint's timeout, 10 MB bodies, connections reset before or during the answer). It records every
 * request as the receiver saw it, and what it answered, so a test can hold the sender to its promises.
 *
 * A script is indexed by the request's place among the requests carrying the same `webhook-id` (the first
 * POST of a delivery gets step 1, its retry step 2, ...; the last step repeats), so each delivery meets the
 * same sequence whatever order deliveries arrive in. With `cycle: true` the path instead answers steps in
 * turn, across deliveries.
 */
export type Step =
  /** 200 with a short plain-text body. */
  | { kind: 'ok'; status?: number }
  /** 200 with a 1x1 GIF (NUL bytes included), what many trackers answer to a postback. */
  | { kind: 'gif' }
  /** 200 with `content-encoding: gzip` and a body that does not decode. */
  | { kind: 'gzip-garbage' }
  /** 200 with a UTF-16LE body (`charset=utf-16le`): every other byte is NUL. */
  | { kind: 'utf16' }
  /** 200 with a body of `bytes` (default 10 MB). */
  | { kind: 'big'; bytes?: number }
  /** 200 headers at once, then the body a byte every `everyMs`, for `forMs`. */
  | { kind: 'trickle'; forMs: number; everyMs?: number }
  /** Any status, headers and body: 302, 410, 429 with Retry-After, 503... */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Reads the request and never answers (the sender's timeout ends it). */
  | { kind: 'hang' }
  /** Reads the request, then resets the connection before any answer. */
  | { kind: 'reset' }
  /** Sends 200 headers and part of the body, then resets the connection mid-response. */
  | { kind: 'reset-after-headers' };

export interface HostileRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When the request had been read (ms since the epoch). */
  at: number;
  webhookId: string | null;
  /** 1 for the first request with this webhook-id on this path, 2 for the next, ...; 0 if incomplete. */
  nth: number;
  /** What the receiver did with it; `incomplete` when the sender hung up before the body had arrived. */
  answered: Step['kind'] | 'incomplete';
  /** The status line it sent, if it sent one. */
  status: number | null;
  /**
   * The Standard Webhooks check made on receipt (the library refuses timestamps older than 5 minutes, so
   * it cannot be made afterwards): `ok`, why it failed, or null without a secret for the path.
   */
  signature: string | null;
}

export interface HostileReceiver {
  url(path: string): string;
  /** Verifies every request to the path on receipt with the official library and this endpoint secret. */
  verifyWith(path: string, secret: string): void;
  /** Scripts a path (replacing its previous script); unscripted paths answer `ok`. */
  script(path: string, steps: Step[], opts?: { cycle?: boolean }): void;
  requests(path?: string): HostileRequest[];
  /** Paths that got at least one request. */
  paths(): string[];
  waitFor(path: string, count: number, timeoutMs?: number): Promise<HostileRequest[]>;
  stop(): Promise<void>;
}

/** GIF89a, 1x1, transparent: the classic tracking pixel. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const TEN_MB = 10 * 1024 * 1024;
let bigBody: Buffer | undefined;

export async function startHostileReceiver(host = '127.0.0.1'): Promise<HostileReceiver> {
  const scripts = new Map<string, { steps: Step[]; cycle: boolean; turn: number }>();
  const verifiers = new Map<string, Webhook>();
  const received: HostileRequest[] = [];
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const pick = (path: string, nth: number): Step => {
    const s = scripts.get(path);
    if (!s || !s.steps.length) return { kind: 'ok' };
    const index = s.cycle ? s.turn++ % s.steps.length : Math.min(nth, s.steps.length) - 1;
    return s.steps[index]!;
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const path = (req.url ?? '/').split('?')[0]!;
    const webhookId = typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'] : null;
    let ended = false;
    req.on('data', (c: Buffer) => chunks.push(c));
    // A request whose sender gave up before its body arrived still reached the receiver: it is recorded.
    req.on('close', () => {
      if (ended) return;
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        webhookId,
        nth: 0,
        answered: 'incomplete',
        status: null,
        signature: null,
      });
    });
    req.on('end', () => {
      ended = true;
      const key = `${path} ${webhookId ?? ''}`;
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      const step = pick(path, nth);
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({
        path,
        headers: req.headers,
        body,
        at: Date.now(),
        webhookId,
        nth,
        answered: step.kind,
        status: statusOf(step),
        signature: verify(verifiers.get(path), body, req.headers),
      });
      answer(step, res, req.socket, timers);
    });
  });
  // A hanging answer must not be cut by the server's own timeouts: only the sender ends it.
  server.requestTimeout = 0;
  server.on('connection', (s) => {
    // The sender may hang up at any point (a timeout, its cap on body size): writes after that fail.
    s.on('error', () => undefined);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: (path) => `http://${host}:${port}${path}`,
    verifyWith: (path, secret) => verifiers.set(path, new Webhook(secret)),
    script: (path, steps, opts = {}) =>
      scripts.set(path, { steps: [...steps], cycle: !!opts.cycle, turn: 0 }),
    requests: (path) => (path === undefined ? [...received] : received.filter((r) => r.path === path)),
    paths: () => [...new Set(received.map((r) => r.path))],
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
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The status line a step sends, or null when it sends none. */
export function statusOf(step: Step): number | null {
  switch (step.kind) {
    case 'hang':
    case 'reset':
      return null;
    case 'status':
      return step.status;
    case 'ok':
      return step.status ?? 200;
    default:
      return 200;
  }
}

function answer(step: Step, res: ServerResponse, socket: Socket, timers: Set<NodeJS.Timeout>): void {
  res.on('error', () => undefined);
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  switch (step.kind) {
    case 'ok':
      res.writeHead(step.status ?? 200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    case 'gif':
      res.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' });
      res.end(PIXEL_GIF);
      return;
    case 'gzip-garbage': {
      // The gzip magic number, then bytes that are no deflate stream (NULs among them).
      const body = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]), randomBytes(256)]);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(body);
      return;
    }
    case 'utf16':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-16le' });
      res.end(Buffer.from('\ufeffaccepted: conversion recorded', 'utf16le'));
      return;
    case 'big': {
      const bytes = step.bytes ?? TEN_MB;
      bigBody ??= Buffer.alloc(TEN_MB, 'x');
      const body = bytes <= TEN_MB ? bigBody.subarray(0, bytes) : Buffer.alloc(bytes, 'x');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    case 'trickle': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      const every = step.everyMs ?? 200;
      const until = Date.now() + step.forMs;
      const drip = () => {
        if (res.destroyed || res.writableEnded) return;
        if (Date.now() >= until) {
          res.end('.');
          return;
        }
        res.write('.');
        later(every, drip);
      };
      later(every, drip);
      return;
    }
    case 'status':
      res.writeHead(step.status, { 'content-type': 'text/plain', ...step.headers });
      res.end(step.body ?? '');
      return;
    case 'hang':
      // Nothing: the socket stays open until the sender gives up (or the receiver stops).
      return;
    case 'reset':
      socket.resetAndDestroy();
      return;
    case 'reset-after-headers':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write('partial answer, then the connection is reset');
      later(20, () => socket.resetAndDestroy());
      return;
  }
}

function verify(wh: Webhook | undefined, body: string, headers: IncomingHttpHeaders): string | null {
  if (!wh) return null;
  try {
    wh.verify(body, headers as Record<string, string>);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The requests whose signature did not verify on receipt (or that came to a path without a secret to
 * verify with), with why. A request the sender abandoned mid-body has no whole body to check: it is left out.
 */
export function unverified(requests: HostileRequest[]): { request: HostileRequest; why: string }[] {
  return requests
    .filter((r) => r.answered !== 'incomplete' && r.signature !== 'ok')
    .map((r) => ({ request: r, why: r.signature ?? 'no secret to verify with' }));
}

/** A request's delivery key as a receiver sees it: the event id and the delivered type in the body. */
export function deliveryKey(r: HostileRequest): string {
  try {
    const body = JSON.parse(r.body) as { type?: string; data?: { eventId?: string } };
    return `${body.data?.eventId ?? '?'} ${body.type ?? '?'}`;
  } catch {
    return '? ?';
  }
}

/** What the invariants over a receiver's log found; empty lists when the sender kept its promises. */
export interface ReceiverInvariants {
  /** Requests carrying a webhook-id the receiver had already answered with a 2xx status line. */
  resentAfterSuccess: HostileRequest[];
  /** (event, delivered type) pairs that arrived under more than one webhook-id, with the ids. */
  splitDeliveries: { key: string; ids: string[] }[];
}

/**
 * The sender's promises, read from what the receiver saw alone: once a webhook-id was answered 2xx it is
 * never sent again, and one (event, delivered type) travels under one webhook-id.
 */
export function receiverInvariants(requests: HostileRequest[]): ReceiverInvariants {
  const succeededAt = new Map<string, number>();
  const resentAfterSuccess: HostileRequest[] = [];
  const idsByKey = new Map<string, Set<string>>();
  for (const r of [...requests].sort((a, b) => a.at - b.at)) {
    const id = r.webhookId ?? '';
    if (succeededAt.has(id)) resentAfterSuccess.push(r);
    if (r.status !== null && r.status >= 200 && r.status < 300 && !succeededAt.has(id))
      succeededAt.set(id, r.at);
    const key = deliveryKey(r);
    const set = idsByKey.get(key) ?? new Set<string>();
    set.add(id);
    idsByKey.set(key, set);
  }
  const splitDeliveries = [...idsByKey]
    .filter(([, ids]) => ids.size > 1)
    .map(([key, ids]) => ({ key, ids: [...ids] }));
  return { resentAfterSuccess, splitDeliveries };
}
