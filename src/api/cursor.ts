import { errors } from '../errors.js';

/** Opaque list cursors: the keyset (createdAt, id) of the last item, base64url-encoded. */
export function encodeCursor(item: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([item.createdAt.toISOString(), item.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | null {
  if (!cursor) return null;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(createdAt)))
      throw 0;
    return { createdAt, id };
  } catch {
    throw errors.validation([
      { code: 'custom', path: ['query', 'cursor'], message: 'not a cursor this API issued', input: cursor },
    ]);
  }
}

/** `{data, nextCursor}` from a page fetched with limit + 1 rows. */
export function page<T extends { createdAt: Date; id: string }, O>(
  rows: T[],
  limit: number,
  map: (row: T) => O,
) {
  const items = rows.slice(0, limit);
  return {
    data: items.map(map),
    nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null,
  };
}

/** A feed cursor: a position in the feed (src/db/feed.ts) and when the reader stood there. */
export interface FeedCursor {
  xid: string;
  seq: string;
  /** When the item at the position was emitted, or the read that reached it (retention: `gap`). */
  at: Date;
}

/** Feed cursors are opaque too: `f`, the position and a time, base64url-encoded. */
export function encodeFeedCursor(c: FeedCursor): string {
  return Buffer.from(JSON.stringify(['f', c.xid, c.seq, c.at.getTime()])).toString('base64url');
}

/** The feed cursor a `?after=` (or a replay's `after`/`until`) names; a 422 at `path` when it is none. */
export function decodeFeedCursor(cursor: string, path: (string | number)[]): FeedCursor {
  try {
    const [kind, xid, seq, at] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const digits = (v: unknown, max: number) =>
      typeof v === 'string' && new RegExp(`^\\d{1,${max}}$`).test(v);
    if (kind !== 'f' || !digits(xid, 19) || !digits(seq, 18) || !Number.isSafeInteger(at)) throw 0;
    return { xid: xid as string, seq: seq as string, at: new Date(at as number) };
  } catch {
    throw errors.validation([
      { code: 'custom', path, message: 'not a feed cursor this API issued', input: cursor },
    ]);
  }
}
