import type { Queryable } from './pool.js';

/** What rendering a postback needs beyond its event: the customer's country, the conversion it follows. */
export interface PostbackContext {
  country: string | null;
  conversionType: string | null;
  conversionFtd: boolean;
  /** For a `deposit.completed` delivery: the same deposit's `deposit.ftd` delivery to this endpoint. */
  ftdDeliveryId: string | null;
}

/** Reads a postback's context in one round trip. */
export async function postbackContext(
  db: Queryable,
  q: {
    operatorId: string;
    customerId: string;
    conversionEventId: string | null;
    eventId: string;
    endpointId: string;
    eventType: string;
  },
): Promise<PostbackContext> {
  const { rows } = await db.query<{
    country: string | null;
    conversion_type: string | null;
    conversion_ftd: boolean;
    ftd_delivery_id: string | null;
  }>(
    `SELECT (SELECT country FROM customers WHERE operator_id = $1 AND customer_id = $2) AS country,
            cv.type AS conversion_type, coalesce((cv.facts->>'ftd')::boolean, false) AS conversion_ftd,
            (SELECT id FROM deliveries
              WHERE $6::text = 'deposit.completed' AND operator_id = $1 AND event_id = $4 AND endpoint_id = $5
                AND event_type = 'deposit.ftd') AS ftd_delivery_id
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN events cv ON cv.operator_id = $1 AND cv.event_id = $3::text`,
    [q.operatorId, q.customerId, q.conversionEventId, q.eventId, q.endpointId, q.eventType],
  );
  const r = rows[0];
  return {
    country: r?.country ?? null,
    conversionType: r?.conversion_type ?? null,
    conversionFtd: r?.conversion_ftd ?? false,
    ftdDeliveryId: r?.ftd_delivery_id ?? null,
  };
}
