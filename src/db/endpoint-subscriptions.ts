import { OPERATIONAL_EVENT_TYPES } from '../domain/event-types.js';
import type { ResolvedRetryPolicy, RetryPolicy } from '../domain/retry-policy.js';
import type { RoutingFilter } from '../domain/routing-filter.js';
import {
  deliveryPolicy,
  endpointColumns,
  endpointFromRow,
  type Endpoint,
  type EndpointRow,
} from './endpoints.js';
import type { Queryable } from './pool.js';

/**
 * Who receives an event: the SQL form of src/domain/matching.ts over the endpoints, now
 * (findSubscribedEndpoints) or as of an event's acceptance (findSubscriptions). An endpoint's filter
 * (src/domain/routing-filter.ts) is judged by the caller, in TypeScript, over the rows these return.
 */
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

/**
 * findSubscriptions' statement, named: every event's application runs it, and planning it cost about as
 * much as running it (0.2-0.4 ms). Its endpoint columns are listed (endpointColumns), never `e.*`.
 */
const FIND_SUBSCRIPTIONS = {
  name: 'apply-event:find-subscriptions-1',
  text: `SELECT ${endpointColumns('e')}, t.type AS subscribed_type, t.type = ANY(s.event_types) AS explicit,
                o.default_retry_policy AS operator_retry_policy, s.filter AS subscribed_filter
           FROM endpoints e
           JOIN LATERAL (SELECT s.event_types, s.affiliate_id, s.enabled, s.filter FROM endpoint_subscriptions s
                          WHERE s.endpoint_id = e.id AND s.valid_from <= $4::timestamptz
                          ORDER BY s.valid_from DESC, s.seq DESC
                          LIMIT 1) s ON s.enabled
           JOIN unnest($2::text[]) WITH ORDINALITY AS t(type, ord) ON ${patternMatches('s.event_types', 't.type')}
           JOIN operators o ON o.id = e.operator_id
          WHERE e.operator_id = $1 AND e.enabled AND e.deleted_at IS NULL
            AND (s.affiliate_id IS NULL OR s.affiliate_id = $3)
          ORDER BY t.ord, e.created_at`,
};

/** One (delivered type, endpoint) pair a new event fans out to. */
export interface Subscription {
  eventType: string;
  endpoint: Endpoint;
  /** The subscription names the type itself (not only through a wildcard such as `deposit.*` or `*`). */
  explicit: boolean;
  /** The policy a new delivery to this endpoint fixes (deliveryPolicy with the operator's default). */
  retryPolicy: ResolvedRetryPolicy;
  /** The endpoint's filter in force at acceptance (the subscription's version); null: every event. */
  filter: RoutingFilter | null;
}

/**
 * The fan-out of an event accepted at `acceptedAt` (its events.received_at, as text straight from
 * PostgreSQL so that no microsecond is lost to a Date), for several delivered types at
 * once, with the operator's default retry policy (operatorRetryPolicy) folded in, in one statement.
 *
 * An endpoint is a subscriber when the version of its subscription in force at acceptance (types,
 * affiliate scope, enabled, filter: endpoint_subscriptions, the latest written at or before `acceptedAt`) matches,
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
    EndpointRow & {
      subscribed_type: string;
      explicit: boolean;
      operator_retry_policy: RetryPolicy | null;
      subscribed_filter: RoutingFilter | null;
    }
  >({ ...FIND_SUBSCRIPTIONS, values: [operatorId, types, affiliateId, acceptedAt] });
  return rows.map((r) => {
    const endpoint = endpointFromRow(r);
    return {
      eventType: r.subscribed_type,
      endpoint,
      explicit: r.explicit,
      retryPolicy: deliveryPolicy(endpoint, r.operator_retry_policy),
      filter: r.subscribed_filter ?? null,
    };
  });
}
