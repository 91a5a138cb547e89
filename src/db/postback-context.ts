import type { Queryable } from './pool.js';

/** What rendering a postback needs beyond its event: the customer's country, the conversion it follows. */
export interface PostbackContext {
  country: string | null;
  conversionType: string | null;
  conversionFtd: boolean;
  /** For a `deposit.completed` delivery: the same deposit's `deposit.ftd` delivery to this endpoint. */
  ftdDeliveryId: string | null;
  /** For an operator's negative event: the customer's conversion it undoes (`undone`), when received. */
  undone: { eventId: string; type: string; ftd: boolean } | null;
  /**
   * The undone conversion's delivery to this endpoint (a sent one first), when it has one: whether the
   * tracker has it, may have it (an attempt on the wire), or never will unless it is cancelled.
   */
  undoneDelivery: UndoneDelivery | null;
}

export interface UndoneDelivery {
  id: string;
  status: 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
  inFlight: boolean;
  workflowId: string;
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
    /** The conversion a chargeback or refund undoes: its type and the data field that names it. */
    undone?: { type: string; field: string; value: string } | null;
  },
): Promise<PostbackContext> {
  const { rows } = await db.query<{
    country: string | null;
    conversion_type: string | null;
    conversion_ftd: boolean;
    ftd_delivery_id: string | null;
    undone_event_id: string | null;
    undone_type: string | null;
    undone_ftd: boolean | null;
    ud_id: string | null;
    ud_status: UndoneDelivery['status'] | null;
    ud_in_flight: boolean | null;
    ud_workflow_id: string | null;
  }>(
    `SELECT (SELECT country FROM customers WHERE operator_id = $1 AND customer_id = $2) AS country,
            cv.type AS conversion_type, coalesce((cv.facts->>'ftd')::boolean, false) AS conversion_ftd,
            (SELECT id FROM deliveries
              WHERE $6::text = 'deposit.completed' AND operator_id = $1 AND event_id = $4 AND endpoint_id = $5
                AND event_type = 'deposit.ftd') AS ftd_delivery_id,
            un.event_id AS undone_event_id, un.type AS undone_type,
            coalesce((un.facts->>'ftd')::boolean, false) AS undone_ftd,
            ud.id AS ud_id, ud.status AS ud_status, ud.in_flight AS ud_in_flight, ud.workflow_id AS ud_workflow_id
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN events cv ON cv.operator_id = $1 AND cv.event_id = $3::text
       LEFT JOIN LATERAL (
         -- By events_customer: the customer's events, the first of the type whose data names the same key.
         SELECT event_id, type, facts FROM events
          WHERE $7::text IS NOT NULL AND operator_id = $1 AND customer_id = $2 AND type = $7::text
            AND payload->'data'->>($8::text) = $9::text
          ORDER BY occurred_at, event_id
          LIMIT 1) un ON true
       LEFT JOIN LATERAL (
         -- By deliveries_event: the conversion's delivery to this endpoint, a sent one first, then a live one.
         SELECT d.id, d.status, d.in_flight_attempt IS NOT NULL AS in_flight, d.workflow_id FROM deliveries d
          WHERE d.operator_id = $1 AND d.event_id = un.event_id AND d.endpoint_id = $5
          ORDER BY CASE WHEN d.status = 'succeeded' THEN 0 WHEN d.status IN ('pending', 'retrying') THEN 1 ELSE 2 END,
                   d.created_at
          LIMIT 1) ud ON true`,
    [
      q.operatorId,
      q.customerId,
      q.conversionEventId,
      q.eventId,
      q.endpointId,
      q.eventType,
      q.undone?.type ?? null,
      q.undone?.field ?? null,
      q.undone?.value ?? null,
    ],
  );
  const r = rows[0];
  return {
    country: r?.country ?? null,
    conversionType: r?.conversion_type ?? null,
    conversionFtd: r?.conversion_ftd ?? false,
    ftdDeliveryId: r?.ftd_delivery_id ?? null,
    undone:
      r?.undone_event_id && r.undone_type
        ? { eventId: r.undone_event_id, type: r.undone_type, ftd: r.undone_ftd ?? false }
        : null,
    undoneDelivery:
      r?.ud_id && r.ud_status && r.ud_workflow_id
        ? {
            id: r.ud_id,
            status: r.ud_status,
            inFlight: r.ud_in_flight ?? false,
            workflowId: r.ud_workflow_id,
          }
        : null,
  };
}
