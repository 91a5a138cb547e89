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
