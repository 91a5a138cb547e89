/**
 * Newest-first keyset pages on (created_at, id), the order of every list. Cursors carry milliseconds (a JS
 * Date) while PostgreSQL keeps microseconds, so rows are compared and sorted at the cursor's millisecond:
 * at full precision, rows sharing the cursor's millisecond would be skipped.
 */

/** `AND`-able condition: after the cursor whose createdAt and id are parameters `$createdAt` and `$id` (null: none). */
export function afterCursor(createdAt: number, id: number): string {
  return `($${createdAt}::timestamptz IS NULL
             OR (date_trunc('milliseconds', created_at), id) < (date_trunc('milliseconds', $${createdAt}::timestamptz), $${id}::text))`;
}

export const NEWEST_FIRST = `ORDER BY date_trunc('milliseconds', created_at) DESC, id DESC`;
