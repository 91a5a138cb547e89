import type { Queryable } from './pool.js';

/**
 * Repository of what a rejection or reversal does to the conversions it overtakes (src/commission/
 * notify.ts): deliveries of the earning event, or of the commission's own notifications, to the given
 * endpoints. Runs in the settlement's transaction.
 */

export interface Overtaken {
  /** The earning event's id. */
  conversionEventId: string | null;
  /** The accrual and every entry that names it (their notification events). */
  entryIds: readonly string[];
  endpointIds: readonly string[];
  /** The notification event that replaces them. */
  replacedBy: string;
}

/** Cancels the deliveries still pending or retrying, with `reason`; returns them. */
export async function cancelOvertaken(
  db: Queryable,
  operatorId: string,
  o: Overtaken,
  reason: string,
): Promise<{ id: string; workflow_id: string; endpoint_id: string }[]> {
  const { rows } = await db.query<{ id: string; workflow_id: string; endpoint_id: string }>(
    `UPDATE deliveries d
        SET status = 'cancelled', completed_at = now(), updated_at = now(), next_attempt_at = NULL,
            last_error = $5, replaced_by_event_id = $6
      WHERE d.operator_id = $1 AND d.endpoint_id = ANY($2) AND d.status IN ('pending', 'retrying')
        AND (d.event_id = $3 OR d.event_id IN (SELECT event_id FROM events
                                                WHERE operator_id = $1 AND commission_entry_id = ANY($4)))
      RETURNING d.id, d.workflow_id, d.endpoint_id`,
    [operatorId, o.endpointIds, o.conversionEventId, o.entryIds, reason, o.replacedBy],
  );
  return rows;
}

/** Marks the deliveries that failed for good, so no redrive or recovery sends them; returns their endpoints. */
export async function markAbandoned(
  db: Queryable,
  operatorId: string,
  o: Overtaken,
): Promise<{ endpoint_id: string }[]> {
  const { rows } = await db.query<{ endpoint_id: string }>(
    `UPDATE deliveries d SET replaced_by_event_id = $5, updated_at = now()
      WHERE d.operator_id = $1 AND d.endpoint_id = ANY($2) AND d.status = 'failed'
        AND (d.event_id = $3 OR d.event_id IN (SELECT event_id FROM events
                                                WHERE operator_id = $1 AND commission_entry_id = ANY($4)))
      RETURNING d.endpoint_id`,
    [operatorId, o.endpointIds, o.conversionEventId, o.entryIds, o.replacedBy],
  );
  return rows;
}
