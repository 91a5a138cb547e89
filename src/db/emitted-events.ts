import type { Queryable } from './pool.js';

/**
 * Rows of events the orchestrator emits from inside another transaction (a settlement's `commission.*`
 * notifications, its `settlement.parked`): recorded `processed` and settled, their deliveries fanned out
 * by the caller, their workflows started after the commit.
 */
export interface EmittedEventRow {
  operatorId: string;
  eventId: string;
  type: string;
  workflowId: string;
  customerId: string;
  payload: { occurredAt: string } & Record<string, unknown>;
  bodyHash: string;
  facts: Record<string, unknown>;
  /** The ledger entry a `commission.*` notification reports. */
  commissionEntryId: string | null;
}

/** Inserts the row unless it exists (a fixed id per fact); says whether this call inserted it. */
export async function insertEmittedEvent(db: Queryable, e: EmittedEventRow): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         status, facts, processed_at, settled_at, commission_entry_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'processed', $9, now(), now(), $10)
     ON CONFLICT (operator_id, event_id) DO NOTHING`,
    [
      e.operatorId,
      e.eventId,
      e.type,
      e.payload.occurredAt,
      e.customerId,
      e.payload,
      e.bodyHash,
      e.workflowId,
      e.facts,
      e.commissionEntryId,
    ],
  );
  return rowCount === 1;
}

/** Parks an event whose settlement fails for good, with its error; returns when it was parked. */
export async function parkEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
  error: string,
): Promise<Date> {
  const { rows } = await db.query<{ parked_at: Date }>(
    `UPDATE events SET settlement_parked_at = now(), settlement_error = $3
      WHERE operator_id = $1 AND event_id = $2
      RETURNING settlement_parked_at AS parked_at`,
    [operatorId, eventId, error],
  );
  return rows[0]!.parked_at;
}
