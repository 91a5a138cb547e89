import { OPERATIONAL_EVENT_TYPES } from '../domain/event-types.js';
import type { PostbackSettings } from '../domain/postback/presets.js';
import {
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
  type ResolvedRetryPolicy,
  type RetryPolicy,
} from '../domain/retry-policy.js';
import {
  BREAKER_RESET_SQL,
  breakerFromRow,
  type BreakerColumns,
  type EndpointBreaker,
} from './endpoint-breaker.js';
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

interface EndpointRow extends BreakerColumns {
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
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  secret_sealed: string;
  previous_secrets: PreviousSecret[];
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
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
                            retry_policy, timeout_ms, rate_limit_per_second, postback, enabled, secret_sealed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
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
    ],
  );
  return endpointFromRow(rows[0]!);
}

export async function findEndpoint(db: Queryable, operatorId: string, id: string): Promise<Endpoint | null> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL',
    [operatorId, id],
  );
  return rows[0] ? endpointFromRow(rows[0]) : null;
}

/** Newest first; the cursor is the (createdAt, id) of the last item of the previous page (keyset.ts). */
export async function listEndpoints(
  db: Queryable,
  operatorId: string,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints
      WHERE operator_id = $1 AND deleted_at IS NULL
        AND ${afterCursor(2, 3)}
      ${NEWEST_FIRST}
      LIMIT $4`,
    [operatorId, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
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
    values.push(key === 'headers' ? JSON.stringify(patch.headers) : patch[key]);
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

/**
 * The SQL form of src/domain/matching.ts `matchesEventType`: some pattern of `patterns` (a text[]) is the
 * exact `type`, its `prefix.*`, or `*` unless `type` is operational (`delivery.*`, `endpoint.*`: those
 * only reach endpoints that name them). Both arguments are SQL expressions.
 */
function patternMatches(patterns: string, type: string): string {
  return `EXISTS (SELECT 1 FROM unnest(${patterns}) p
                   WHERE (p = '*' AND ${type} <> ALL (${OPERATIONAL_TYPES_SQL}))
                      OR p = ${type} OR (right(p, 2) = '.*' AND starts_with(${type}, left(p, -1))))`;
}

/** The operational types as a SQL array literal (fixed lowercase identifiers: nothing to escape). */
const OPERATIONAL_TYPES_SQL = `'{${OPERATIONAL_EVENT_TYPES.join(',')}}'::text[]`;

/**
 * Enabled endpoints of the operator that subscribe to `type` for this affiliate now: the SQL form of
 * src/domain/matching.ts. For what is decided now (whether to emit an operational event, a commission
 * notification's targets); an accepted event's fan-out uses findSubscriptions, as of its acceptance.
 */
export async function findSubscribedEndpoints(
  db: Queryable,
  operatorId: string,
  type: string,
  affiliateId: string | null,
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints
      WHERE operator_id = $1 AND enabled AND deleted_at IS NULL
        AND (affiliate_id IS NULL OR affiliate_id = $3)
        AND ${patternMatches('event_types', '$2')}
      ORDER BY created_at`,
    [operatorId, type, affiliateId],
  );
  return rows.map(endpointFromRow);
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

/** One (delivered type, endpoint) pair a new event fans out to. */
export interface Subscription {
  eventType: string;
  endpoint: Endpoint;
  /** The subscription names the type itself (not only through a wildcard such as `deposit.*` or `*`). */
  explicit: boolean;
  /** The policy a new delivery to this endpoint fixes (deliveryPolicy with the operator's default). */
  retryPolicy: ResolvedRetryPolicy;
}

/**
 * The fan-out of an event accepted at `acceptedAt` (its events.received_at, as text straight from
 * PostgreSQL so that no microsecond is lost to a Date), for several delivered types at
 * once, with the operator's default retry policy (operatorRetryPolicy) folded in, in one statement.
 *
 * An endpoint is a subscriber when the version of its subscription in force at acceptance (types,
 * affiliate scope, enabled: endpoint_subscriptions, the latest written at or before `acceptedAt`) matches,
 * and it is still enabled and not deleted now: an endpoint created or subscribed after the event's 202
 * does not get it, and one disabled or deleted since does not either. Delivery settings (url, policy,
 * timeout) are the endpoint's current ones. Ordered by the type's position in `types`, then by endpoint
 * creation. No subscriber, no row: the operator's default is then moot.
 *
 * Cost: the operator's live endpoints by endpoints_operator, then one backward probe of the primary key
 * of endpoint_subscriptions per endpoint (the latest version at or before acceptance).
 */
export async function findSubscriptions(
  db: Queryable,
  operatorId: string,
  types: readonly string[],
  affiliateId: string | null,
  acceptedAt: string,
): Promise<Subscription[]> {
  if (!types.length) return [];
  const { rows } = await db.query<
    EndpointRow & { subscribed_type: string; explicit: boolean; operator_retry_policy: RetryPolicy | null }
  >(
    `SELECT e.*, t.type AS subscribed_type, t.type = ANY(s.event_types) AS explicit,
            o.default_retry_policy AS operator_retry_policy
       FROM endpoints e
       JOIN LATERAL (SELECT s.event_types, s.affiliate_id, s.enabled FROM endpoint_subscriptions s
                      WHERE s.endpoint_id = e.id AND s.valid_from <= $4::timestamptz
                      ORDER BY s.valid_from DESC, s.seq DESC
                      LIMIT 1) s ON s.enabled
       JOIN unnest($2::text[]) WITH ORDINALITY AS t(type, ord) ON ${patternMatches('s.event_types', 't.type')}
       JOIN operators o ON o.id = e.operator_id
      WHERE e.operator_id = $1 AND e.enabled AND e.deleted_at IS NULL
        AND (s.affiliate_id IS NULL OR s.affiliate_id = $3)
      ORDER BY t.ord, e.created_at`,
    [operatorId, types, affiliateId, acceptedAt],
  );
  return rows.map((r) => {
    const endpoint = endpointFromRow(r);
    return {
      eventType: r.subscribed_type,
      endpoint,
      explicit: r.explicit,
      retryPolicy: deliveryPolicy(endpoint, r.operator_retry_policy),
    };
  });
}

/** The retry policy fixed into a new delivery: the endpoint's, else the operator's, else the built-in one. */
export function deliveryPolicy(
  endpoint: Pick<Endpoint, 'retryPolicy'>,
  operatorDefault: RetryPolicy | null,
): ResolvedRetryPolicy {
  return resolveRetryPolicy(endpoint.retryPolicy ?? operatorDefault ?? DEFAULT_RETRY_POLICY);
}
