/**
 * What the fault run reads of the system under test to judge it: PostgreSQL rows (progress while it
 * settles, the final state of deliveries, endpoints, accruals and events) and Temporal's count of event
 * workflows still running.
 */
import { Connection, Client } from '@temporalio/client';
import { LOST_ATTEMPT_MESSAGE } from '../src/db/delivery-claim.js';
import type { Pool } from '../src/db/pool.js';

export interface Progress {
  processed: number;
  open: number;
  accruals: number;
}

/** How far the run has got: accepted events processed, deliveries not final, CPA accruals booked. */
export async function progress(pool: Pool, operatorId: string, acceptedIds: string[]): Promise<Progress> {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*)::int FROM events WHERE operator_id = $1 AND event_id = ANY($2) AND status = 'processed') AS processed,
            (SELECT count(*)::int FROM deliveries WHERE operator_id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')) AS open,
            (SELECT count(*)::int FROM commission_entries WHERE operator_id = $1 AND kind = 'accrual') AS accruals`,
    [operatorId, acceptedIds],
  );
  return rows[0]!;
}

/** How many of these events have a succeeded delivery. */
export async function deliveredCount(pool: Pool, operatorId: string, eventIds: string[]): Promise<number> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM deliveries WHERE operator_id = $1 AND event_id = ANY($2) AND status = 'succeeded'`,
    [operatorId, eventIds],
  );
  return rows[0]!.n;
}

export interface DeliveryRow {
  id: string;
  status: string;
  endpoint_id: string;
  event_id: string;
  attempts: number;
  /** Attempts logged "outcome unknown": their worker died in them. */
  lost: number;
}

export interface FinalState {
  deliveries: DeliveryRow[];
  endpointRows: { id: string; enabled: boolean; disabled_reason: string | null }[];
  accruals: { customer_id: string; event_id: string; n: number }[];
  eventStates: { status: string; n: number }[];
}

/** The rows the checks judge: deliveries (but the fresh events'), endpoints, accruals per customer, events. */
export async function finalState(
  pool: Pool,
  operatorId: string,
  acceptedIds: string[],
  freshIds: string[],
): Promise<FinalState> {
  const { rows: deliveries } = await pool.query<DeliveryRow>(
    `SELECT d.id, d.status, d.endpoint_id, d.event_id,
            (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempts,
            (SELECT count(*)::int FROM delivery_attempts a
              WHERE a.delivery_id = d.id AND a.error_message = $3) AS lost
       FROM deliveries d WHERE d.operator_id = $1 AND NOT (d.event_id = ANY($2))`,
    [operatorId, freshIds, LOST_ATTEMPT_MESSAGE],
  );
  const { rows: endpointRows } = await pool.query<{
    id: string;
    enabled: boolean;
    disabled_reason: string | null;
  }>('SELECT id, enabled, disabled_reason FROM endpoints WHERE operator_id = $1', [operatorId]);
  const { rows: accruals } = await pool.query<{ customer_id: string; event_id: string; n: number }>(
    `SELECT customer_id, min(event_id) AS event_id, count(*)::int AS n FROM commission_entries
      WHERE operator_id = $1 AND kind = 'accrual' GROUP BY customer_id`,
    [operatorId],
  );
  const { rows: eventStates } = await pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = ANY($2) GROUP BY status`,
    [operatorId, acceptedIds],
  );
  return { deliveries, endpointRows, accruals, eventStates };
}

/** How many event workflows are still running, or why that could not be told. */
export async function runningEventWorkflows(address: string): Promise<number | string> {
  try {
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      return (await client.workflow.count(`WorkflowType = 'processEvent' AND ExecutionStatus = 'Running'`))
        .count;
    } finally {
      await connection.close();
    }
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}
