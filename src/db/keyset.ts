/**
 * Newest-first keyset pages on (created_at, id), the order of every list. Cursors carry milliseconds (a JS
 * Date) while PostgreSQL keeps microseconds, so rows are compared and sorted at the cursor's millisecond:
 * at full precision, rows sharing the cursor's millisecond would be skipped.
 *
 * The millisecond is taken of the UTC wall-clock time (`created_at AT TIME ZONE 'UTC'`), which is the same
 * order and the same millisecond as of the instant, but an immutable expression: a list's index can be
 * built on it (migration 030), so a page is read in order from the index and stops after `limit` rows.
 * Sorting on `date_trunc('milliseconds', created_at)` (a stable function of the session's time zone) could
 * use no index, and every page of a 100,000-row list read and sorted all of them.
 */

/** The sort key of a list row: its `created_at` at millisecond precision (see above). */
function newestKey(column = 'created_at'): string {
  return `date_trunc('milliseconds', ${column} AT TIME ZONE 'UTC')`;
}

/** The same key of a cursor's createdAt, parameter `$n`. */
function cursorKey(n: number): string {
  return `date_trunc('milliseconds', $${n}::timestamptz AT TIME ZONE 'UTC')`;
}

/** A list's columns when not `created_at` and `id` (another tie-breaker, or names qualified by an alias). */
export interface KeysetColumns {
  createdAt?: string;
  id?: string;
}

/**
 * `AND`-able condition: after the cursor whose createdAt and id are parameters `$createdAt` and `$id` (null:
 * none).
 */
export function afterCursor(createdAt: number, id: number, cols: KeysetColumns = {}): string {
  return `($${createdAt}::timestamptz IS NULL
             OR (${newestKey(cols.createdAt)}, ${cols.id ?? 'id'}) < (${cursorKey(createdAt)}, $${id}::text))`;
}

/** `ORDER BY` of every list: newest first, then the tie-breaker, descending. */
export function newestFirst(cols: KeysetColumns = {}): string {
  return `ORDER BY ${newestKey(cols.createdAt)} DESC, ${cols.id ?? 'id'} DESC`;
}

export const NEWEST_FIRST = newestFirst();

/**
 * `AND`-able conditions for a `[since, until)` window on created_at (parameters `$since`, `$until`, each
 * null for none): the exact bounds, and the sort key's bounds they imply, so the list's index reads only
 * the window (the key of a row inside is at least `since`'s key and at most `until`'s).
 */
export function createdWithin(since: number, until: number): string {
  return `($${since}::timestamptz IS NULL OR (created_at >= $${since} AND ${newestKey()} >= ${cursorKey(since)}))
        AND ($${until}::timestamptz IS NULL OR (created_at < $${until} AND ${newestKey()} <= ${cursorKey(until)}))`;
}
