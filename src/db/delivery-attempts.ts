import type { Queryable } from './pool.js';

/** Repository of delivery attempts: one row per attempt, logged by src/db/attempt-record.ts. */

export interface DeliveryAttempt {
  number: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  /** A printable preview of the body's first 4 KiB (see printablePreview). */
  responseBody: string | null;
  responseBytes?: number | null;
  responseContentType?: string | null;
  /** The request as it went out, secrets masked (src/delivery/sent-request.ts); null when not kept. */
  request?: SentRequestRecord | null;
}

/** What delivery_attempts.request holds (the shape of src/delivery's SentRequest). */
export interface SentRequestRecord {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  bodyBytes: number;
}

export async function attemptsOf(db: Queryable, deliveryId: string): Promise<DeliveryAttempt[]> {
  const { rows } = await db.query<{
    number: number;
    started_at: Date;
    duration_ms: number;
    status_code: number | null;
    error_class: string | null;
    error_message: string | null;
    response_body: string | null;
    response_bytes: number | null;
    response_content_type: string | null;
    request: SentRequestRecord | null;
  }>('SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY number', [deliveryId]);
  return rows.map((r) => ({
    number: r.number,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    errorClass: r.error_class,
    errorMessage: r.error_message,
    responseBody: r.response_body,
    responseBytes: r.response_bytes,
    responseContentType: r.response_content_type,
    request: r.request ?? null,
  }));
}
