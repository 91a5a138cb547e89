import type { PostbackSettings } from '../domain/postback/presets.js';
import {
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
  type ResolvedRetryPolicy,
  type RetryPolicy,
} from '../domain/retry-policy.js';
import type { RoutingFilter } from '../domain/routing-filter.js';
import {
  BREAKER_RESET_SQL,
  breakerFromRow,
  type BreakerColumns,
  type EndpointBreaker,
} from './endpoint-breaker.js';
import { columnList } from './columns.js';
import { newId } from './new-id.js';
export { operatorRetryPolicy } from './operators.js';
import type { Queryable } from './pool.js';
import { rotateSecretStatement } from './secret-rotation.js';
import { afterCursor, NEWEST_FIRST } from './keyset.js';

/**
 * Repository of endpoints. Secrets and custom headers arrive and leave sealed: encryption is the caller's
 * (SecretCipher, src/delivery/sealed-headers.ts).
 */

export interface PreviousSecret {
  sealed: string;
  expiresAt: string;
}

export interface Endpoint {
  id: string;
  operatorId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  affiliateId: string | null;
  format: 'webhook' | 'postback';
  /** Custom headers as stored: sealed (a string), or a plain map in rows written before sealing. */
  headers: string | Record<string, string>;
  retryPolicy: RetryPolicy | null;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
  /** A postback endpoint's settings as saved (the API validated them); null for a webhook endpoint. */
  postback: PostbackSettings | null;
  /** Which events of its types it receives (src/domain/routing-filter.ts); null: all of them. */
  filter: RoutingFilter | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  secretSealed: string;
  previousSecrets: PreviousSecret[];
  failingSince: Date | null;
  breaker: EndpointBreaker;
  createdAt: Date;
  updatedAt: Date;
}

export interface EndpointRow extends BreakerColumns {
  id: string;
  operator_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  affiliate_id: string | null;
  format: 'webhook' | 'postback';
  headers: string | Record<string, string>;
  retry_policy: RetryPolicy | null;
  timeout_ms: number;
  rate_limit_per_second: number | null;
  postback: PostbackSettings | null;
  filter: RoutingFilter | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  secret_sealed: string;
  previous_secrets: PreviousSecret[];
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

// prettier-ignore
const ENDPOINT_COLUMNS = {
  id: true, operator_id: true, url: true, description: true, event_types: true, affiliate_id: true,
  format: true, headers: true, retry_policy: true, timeout_ms: true, rate_limit_per_second: true,
  postback: true, filter: true, enabled: true, disabled_reason: true, disabled_at: true,
  secret_sealed: true, previous_secrets: true, failing_since: true, created_at: true, updated_at: true,
  consecutive_failures: true, breaker_opened_at: true, breaker_since: true, breaker_probe_at: true,
  breaker_probe_started_at: true,
} as const;

/**
 * The columns endpointFromRow reads, of the endpoints table aliased `alias`, for a statement that cannot
 * use `e.*` (a named prepared statement: src/db/columns.ts).
 */
export function endpointColumns(alias: string): string {
  return columnList<EndpointRow>(ENDPOINT_COLUMNS, alias);
}

export function endpointFromRow(r: EndpointRow): Endpoint {
  return {
    id: r.id,
    operatorId: r.operator_id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    affiliateId: r.affiliate_id,
    format: r.format,
    headers: r.headers,
    retryPolicy: r.retry_policy,
    timeoutMs: r.timeout_ms,
    rateLimitPerSecond: r.rate_limit_per_second,
    postback: r.postback,
    filter: r.filter ?? null,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
    secretSealed: r.secret_sealed,
    previousSecrets: r.previous_secrets,
    failingSince: r.failing_since,
    breaker: breakerFromRow(r),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface EndpointFields {
  url: string;
  description: string | null;
  eventTypes: string[];
  affiliateId: string | null;
  format: 'webhook' | 'postback';
  /** Sealed by the caller (src/delivery/sealed-headers.ts). */
  headers: string | Record<string, string>;
  retryPolicy: RetryPolicy | null;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
  postback: PostbackSettings | null;
  /** Absent or null: no filter. */
  filter?: RoutingFilter | null;
  enabled: boolean;
}

/** Mints the id first so the secret can be sealed with the id as its context. */
export function newEndpointId(): string {
  return newId('endpoint');
}

export async function insertEndpoint(
  db: Queryable,
  operatorId: string,
  id: string,
  f: EndpointFields,
  secretSealed: string,
): Promise<Endpoint> {
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO endpoints (id, operator_id, url, description, event_types, affiliate_id, format, headers,
                            retry_policy, timeout_ms, rate_limit_per_second, postback, enabled, secret_sealed,
                            filter)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     RETURNING *`,
    [
      id,
      operatorId,
      f.url,
      f.description,
      f.eventTypes,
      f.affiliateId,
      f.format,
      // jsonb: a sealed string must go as a JSON string, not as raw text.
      JSON.stringify(f.headers),
      f.retryPolicy,
      f.timeoutMs,
      f.rateLimitPerSecond,
      f.postback,
      f.enabled,
      secretSealed,
      f.filter ? JSON.stringify(f.filter) : null,
    ],
  );
  return endpointFromRow(rows[0]!);
}

/** A live endpoint of the operator; with `affiliateId`, only one scoped to that affiliate (its portal). */
export async function findEndpoint(
  db: Queryable,
  operatorId: string,
  id: string,
  affiliateId: string | null = null,
): Promise<Endpoint | null> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL
        AND ($3::text IS NULL OR affiliate_id = $3)`,
    [operatorId, id, affiliateId],
  );
  return rows[0] ? endpointFromRow(rows[0]) : null;
}

/**
 * Newest first; the cursor is the (createdAt, id) of the last item of the previous page (keyset.ts). With
 * `affiliateId`, only the endpoints scoped to that affiliate.
 */
export async function listEndpoints(
  db: Queryable,
  operatorId: string,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
  affiliateId: string | null = null,
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints
      WHERE operator_id = $1 AND deleted_at IS NULL
        AND ($5::text IS NULL OR affiliate_id = $5)
        AND ${afterCursor(2, 3)}
      ${NEWEST_FIRST}
      LIMIT $4`,
    [operatorId, cursor?.createdAt ?? null, cursor?.id ?? null, limit, affiliateId],
  );
  return rows.map(endpointFromRow);
}

const UPDATABLE: Record<keyof EndpointFields, string> = {
  url: 'url',
  description: 'description',
  eventTypes: 'event_types',
  affiliateId: 'affiliate_id',
  format: 'format',
  headers: 'headers',
  retryPolicy: 'retry_policy',
  timeoutMs: 'timeout_ms',
  rateLimitPerSecond: 'rate_limit_per_second',
  postback: 'postback',
  filter: 'filter',
  enabled: 'enabled',
};

/** Applies the given fields; re-enabling clears the disabled reason, the failure clock and the breaker. */
export async function updateEndpoint(
  db: Queryable,
  operatorId: string,
  id: string,
  patch: Partial<EndpointFields>,
): Promise<Endpoint | null> {
  const sets: string[] = [];
  const values: unknown[] = [operatorId, id];
  for (const [key, column] of Object.entries(UPDATABLE) as [keyof EndpointFields, string][]) {
    if (patch[key] === undefined) continue;
    // jsonb: a sealed header string, or a filter, goes as JSON text (`null` stays SQL NULL).
    values.push(
      key === 'headers' || (key === 'filter' && patch.filter !== null)
        ? JSON.stringify(patch[key])
        : patch[key],
    );
    sets.push(`${column} = $${values.length}`);
  }
  if (patch.enabled === true)
    sets.push(`disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, ${BREAKER_RESET_SQL}`);
  if (patch.enabled === false) sets.push(`disabled_reason = 'manual', disabled_at = now()`);
  sets.push('updated_at = now()');
  const { rows } = await db.query<EndpointRow>(
    `UPDATE endpoints SET ${sets.join(', ')} WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING *`,
    values,
  );
  return rows[0] ? endpointFromRow(rows[0]) : null;
}

/**
 * Replaces plaintext headers (a row written before sealing) by their sealed form, unless they changed
 * meanwhile. Answers the endpoint as it now is, or null when nothing was replaced.
 */
export async function resealEndpointHeaders(
  db: Queryable,
  id: string,
  plain: Record<string, string>,
  sealed: string | Record<string, string>,
): Promise<Endpoint | null> {
  const { rows } = await db.query<EndpointRow>(
    'UPDATE endpoints SET headers = $3 WHERE id = $1 AND headers = $2 RETURNING *',
    [id, JSON.stringify(plain), JSON.stringify(sealed)],
  );
  return rows[0] ? endpointFromRow(rows[0]) : null;
}

/** Soft delete: deliveries keep their endpoint reference; the endpoint receives nothing new. */
export async function deleteEndpoint(db: Queryable, operatorId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE endpoints SET deleted_at = now(), enabled = false, updated_at = now()
      WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [operatorId, id],
  );
  return rowCount === 1;
}

/** Makes `newSealed` current; the old secret keeps signing until `graceMs` from now. */
export async function rotateEndpointSecret(
  db: Queryable,
  operatorId: string,
  id: string,
  newSealed: string,
  graceMs: number,
): Promise<Endpoint | null> {
  const { rows } = await db.query<EndpointRow>(rotateSecretStatement('endpoints'), [
    operatorId,
    id,
    newSealed,
    graceMs,
  ]);
  return rows[0] ? endpointFromRow(rows[0]) : null;
}

/** Disables an endpoint (410 Gone, or failing too long); true if this call disabled it. */
export async function disableEndpoint(db: Queryable, id: string, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now()
      WHERE id = $1 AND enabled`,
    [id, reason],
  );
  return rowCount === 1;
}

/** What driving a delivery needs of each endpoint (deleted ones included: their deliveries still end). */
export async function findEndpointSettings(
  db: Queryable,
  ids: string[],
): Promise<Map<string, Pick<Endpoint, 'url' | 'timeoutMs' | 'rateLimitPerSecond'>>> {
  const { rows } = await db.query<Pick<EndpointRow, 'id' | 'url' | 'timeout_ms' | 'rate_limit_per_second'>>(
    'SELECT id, url, timeout_ms, rate_limit_per_second FROM endpoints WHERE id = ANY($1)',
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { url: r.url, timeoutMs: r.timeout_ms, rateLimitPerSecond: r.rate_limit_per_second },
    ]),
  );
}

/** The retry policy fixed into a new delivery: the endpoint's, else the operator's, else the built-in one. */
export function deliveryPolicy(
  endpoint: Pick<Endpoint, 'retryPolicy'>,
  operatorDefault: RetryPolicy | null,
): ResolvedRetryPolicy {
  return resolveRetryPolicy(endpoint.retryPolicy ?? operatorDefault ?? DEFAULT_RETRY_POLICY);
}
