import type { Queryable } from './pool.js';

/** The deliveries still waiting (pending or retrying) of an endpoint that takes no more: what ends them. */

export interface WaitingDelivery {
  id: string;
  workflowId: string;
}

/**
 * One page, in id order after `afterId`, of the waiting deliveries of an endpoint that is disabled or
 * deleted now; none once it is enabled again, so a sweep that runs late never cancels what it may send.
 */
export async function waitingDeliveriesOfEndedEndpoint(
  db: Queryable,
  operatorId: string,
  endpointId: string,
  afterId: string | null,
  limit: number,
): Promise<WaitingDelivery[]> {
  const { rows } = await db.query<{ id: string; workflow_id: string }>(
    `SELECT d.id, d.workflow_id
       FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
      WHERE d.endpoint_id = $2 AND d.operator_id = $1 AND d.status IN ('pending', 'retrying')
        AND ($3::text IS NULL OR d.id > $3)
        AND (NOT e.enabled OR e.deleted_at IS NOT NULL)
      ORDER BY d.id
      LIMIT $4`,
    [operatorId, endpointId, afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, workflowId: r.workflow_id }));
}
