import { ApplicationFailure } from '@temporalio/common';
import { withTransaction, type Pool, type PoolClient } from '../src/db/pool.js';
import type { EventFacts } from '../src/db/events.js';

export interface EventRef {
  operatorId: string;
  eventId: string;
}

interface LockedEvent {
  type: string;
  customer_id: string;
  occurred_at: Date;
  payload: { attribution?: Record<string, unknown>; data: Record<string, unknown> };
  status: string;
  facts: EventFacts | null;
}

interface LockedCustomer {
  attribution: Record<string, unknown> | null;
  ftd_event_id: string | null;
}

/**
 * Applies an event to what is known of its customer, in one transaction, and records the facts derived:
 * the effective attribution and whether a deposit is the FTD. Idempotent: a replayed call returns the
 * facts recorded the first time.
 *
 * Concurrent events of one customer serialise on the customer row lock, so of two racing first deposits
 * exactly one becomes the FTD.
 */
export async function applyEventTx(pool: Pool, ref: EventRef): Promise<EventFacts> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<LockedEvent>(
      `SELECT type, customer_id, occurred_at, payload, status, facts FROM events
        WHERE operator_id = $1 AND event_id = $2 FOR UPDATE`,
      [ref.operatorId, ref.eventId],
    );
    const event = rows[0];
    if (!event) {
      throw ApplicationFailure.nonRetryable(`event ${ref.eventId} is not recorded`, 'EventNotFoundError');
    }
    if (event.status === 'processed' && event.facts) return event.facts;

    const customer = await lockCustomer(tx, ref.operatorId, event.customer_id);
    let attribution = customer.attribution;
    let ftd = false;

    if (event.type === 'customer.registered' && !attribution && event.payload.attribution) {
      attribution = event.payload.attribution;
      await tx.query(
        `UPDATE customers SET attribution = $3, attributed_by_event_id = $4, country = $5, registered_at = $6,
                updated_at = now()
          WHERE operator_id = $1 AND customer_id = $2`,
        [
          ref.operatorId,
          event.customer_id,
          attribution,
          ref.eventId,
          event.payload.data.country,
          event.occurred_at,
        ],
      );
    }

    if (event.type === 'deposit.completed') {
      if (customer.ftd_event_id === null) {
        const data = event.payload.data;
        await tx.query(
          `UPDATE customers SET ftd_event_id = $3, ftd_deposit_id = $4, ftd_amount = $5, ftd_currency = $6,
                  ftd_at = $7, updated_at = now()
            WHERE operator_id = $1 AND customer_id = $2`,
          [
            ref.operatorId,
            event.customer_id,
            ref.eventId,
            data.depositId,
            data.amount,
            data.currency,
            event.occurred_at,
          ],
        );
        ftd = true;
      } else {
        ftd = customer.ftd_event_id === ref.eventId;
      }
    }

    const facts: EventFacts = { effectiveAttribution: event.payload.attribution ?? attribution ?? null, ftd };
    await tx.query(
      `UPDATE events SET status = 'processed', processed_at = now(), facts = $3,
              workflow_started_at = coalesce(workflow_started_at, now())
        WHERE operator_id = $1 AND event_id = $2`,
      [ref.operatorId, ref.eventId, facts],
    );
    return facts;
  });
}

async function lockCustomer(tx: PoolClient, operatorId: string, customerId: string): Promise<LockedCustomer> {
  await tx.query('INSERT INTO customers (operator_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    operatorId,
    customerId,
  ]);
  const { rows } = await tx.query<LockedCustomer>(
    'SELECT attribution, ftd_event_id FROM customers WHERE operator_id = $1 AND customer_id = $2 FOR UPDATE',
    [operatorId, customerId],
  );
  return rows[0]!;
}
