import type { Attribution, AttributableEvent } from '../domain/attribution.js';
import {
  INSERT_NEW_EVENT,
  newEventValues,
  type EventFacts,
  type EventRow,
  type EventStatus,
  type NewEvent,
} from './events.js';
import type { Queryable } from './pool.js';

/** The event reads and writes of an event's application (activities/apply-event.ts), in one transaction. */

/**
 * The statements of an event's application (activities/apply-event.ts), as named prepared statements: each
 * is parsed once per connection, and PostgreSQL soon keeps a generic plan (planning took 2-3x the execution
 * of these point lookups). Only explicit column lists: a prepared `SELECT *` or `RETURNING *` fails ("cached
 * plan must not change result type") in a running process after a migration adds a column.
 */
/** A wake older than this is taken as lost (its workflow ended by hand) and signals again. */
const WAKE_LOST_AFTER = "interval '60 seconds'";

const APPLY_STATEMENTS = {
  recordNew: {
    // The event recorded and, when new, returned as `lock` reads it: the insert holds its row lock.
    name: 'apply-event:record-new-1',
    text: `${INSERT_NEW_EVENT}
           RETURNING type, customer_id, occurred_at, received_at::text AS accepted_at, payload, status, facts`,
  },
  lock: {
    name: 'apply-event:lock-event-2',
    text: `SELECT type, customer_id, occurred_at, received_at::text AS accepted_at, payload, status, facts
             FROM events
            WHERE operator_id = $1 AND event_id = $2 FOR UPDATE`,
  },
  recordedRegistration: {
    name: 'apply-event:recorded-registration',
    text: `SELECT event_id, occurred_at, payload FROM events
            WHERE operator_id = $1 AND customer_id = $2 AND type = 'customer.registered'
              AND payload ? 'attribution'
            ORDER BY occurred_at, received_at, event_id
            LIMIT 1`,
  },
  markProcessed: {
    // Also answers whether the event's affiliate is set up and, for a commission event ($5), whether it
    // is the one to wake the customer's settlement (migrations/012_customer_wakes.sql), and appends the
    // types it is delivered as ($6, in order) to the feed (migrations/024_feed.sql), in one round trip.
    // The workflow applying it ($7) also confirms its own start; the API applying it before the start
    // does not (the start may still fail, and the reconciler looks for rows without one).
    name: 'apply-event:mark-processed-5',
    text: `WITH marked AS (
             UPDATE events SET status = 'processed', processed_at = now(), facts = $3,
                    workflow_started_at = CASE WHEN $7::boolean THEN coalesce(workflow_started_at, now())
                                               ELSE workflow_started_at END
              WHERE operator_id = $1 AND event_id = $2
          RETURNING customer_id,
                    EXISTS (SELECT 1 FROM affiliates WHERE operator_id = $1 AND affiliate_id = $4::text)
                      AS affiliate_known
           ), wake AS (
             INSERT INTO customer_wakes (operator_id, customer_id)
             SELECT $1, customer_id FROM marked WHERE affiliate_known AND $5::boolean
                 ON CONFLICT (operator_id, customer_id) DO UPDATE SET requested_at = now()
                    WHERE customer_wakes.requested_at < now() - ${WAKE_LOST_AFTER}
             RETURNING 1
           ), feed AS (
             INSERT INTO feed_items (operator_id, event_id, type, affiliate_id)
             SELECT $1, $2, u.type, $4::text
               FROM marked, unnest($6::text[]) WITH ORDINALITY AS u(type, n)
              ORDER BY u.n
                 ON CONFLICT (operator_id, event_id, type) DO NOTHING
           )
           SELECT affiliate_known, EXISTS (SELECT 1 FROM wake) AS wake FROM marked`,
  },
  clearWake: {
    name: 'settlement:clear-wake',
    text: 'DELETE FROM customer_wakes WHERE operator_id = $1 AND customer_id = $2',
  },
} as const;

/** An event as its application reads it, locked for the transaction. */
export interface EventToApply extends AttributableEvent {
  customerId: string;
  payload: { brand?: string; attribution?: Attribution; data: Record<string, unknown> };
  /**
   * When the event was accepted (received_at: its 202, an emitted event's insert), as PostgreSQL wrote it:
   * its subscribers are those of then, compared to the microsecond (a Date would round to milliseconds).
   */
  acceptedAt: string;
  status: EventStatus;
  facts: EventFacts | null;
}

type LockedRow = Pick<EventRow, 'type' | 'customer_id' | 'occurred_at' | 'status' | 'facts'> & {
  accepted_at: string;
  payload: EventToApply['payload'];
};

function toApply(eventId: string, r: LockedRow): EventToApply {
  return {
    eventId,
    type: r.type,
    customerId: r.customer_id,
    occurredAt: r.occurred_at,
    acceptedAt: r.accepted_at,
    payload: r.payload,
    status: r.status,
    facts: r.facts,
  };
}

/**
 * Records a new event within the transaction that applies it, and returns it as lockEventToApply would
 * (its row locked by the insert); null when an event with its (operator, id) was recorded before (nothing
 * is written then).
 */
export async function recordEventToApply(tx: Queryable, e: NewEvent): Promise<EventToApply | null> {
  const { rows } = await tx.query<LockedRow>({
    ...APPLY_STATEMENTS.recordNew,
    values: newEventValues(e),
  });
  return rows[0] ? toApply(e.eventId, rows[0]) : null;
}

/** Locks the event's row for the transaction that applies it; null when there is no such event. */
export async function lockEventToApply(
  tx: Queryable,
  operatorId: string,
  eventId: string,
): Promise<EventToApply | null> {
  const { rows } = await tx.query<LockedRow>({ ...APPLY_STATEMENTS.lock, values: [operatorId, eventId] });
  return rows[0] ? toApply(eventId, rows[0]) : null;
}

/**
 * The customer's earliest recorded registration that carries an attribution, applied or not (its workflow
 * may run behind the event being applied); null when there is none.
 */
export async function findBindingRegistration(
  tx: Queryable,
  operatorId: string,
  customerId: string,
): Promise<AttributableEvent | null> {
  const { rows } = await tx.query<
    Pick<EventRow, 'event_id' | 'occurred_at'> & { payload: AttributableEvent['payload'] }
  >({ ...APPLY_STATEMENTS.recordedRegistration, values: [operatorId, customerId] });
  const r = rows[0];
  return r
    ? { eventId: r.event_id, type: 'customer.registered', occurredAt: r.occurred_at, payload: r.payload }
    : null;
}

/**
 * Records the facts derived from the event, marks it processed and appends it to the feed as each type
 * in `emits` (attributed to `affiliateId`). Answers whether the operator has set up `affiliateId` (false
 * when null) and, for a commission event (`commission`), whether this event must signal the customer's
 * settlement workflow: false when a signal is already on its way and the step it leads to has not yet
 * read the unsettled events (it will read this one). `started`: the event's workflow is the one applying
 * it, so its start is confirmed too; false when the API applies it before starting the workflow.
 */
export async function markEventProcessed(
  tx: Queryable,
  operatorId: string,
  eventId: string,
  facts: EventFacts,
  affiliateId: string | null,
  commission: boolean,
  emits: readonly string[],
  started: boolean,
): Promise<{ affiliateKnown: boolean; wake: boolean }> {
  const { rows } = await tx.query<{ affiliate_known: boolean; wake: boolean }>({
    ...APPLY_STATEMENTS.markProcessed,
    values: [operatorId, eventId, facts, affiliateId, commission, emits, started],
  });
  return { affiliateKnown: rows[0]?.affiliate_known ?? false, wake: rows[0]?.wake ?? false };
}

/**
 * Run by a settlement step before it reads the unsettled events, in a statement of its own: from here on
 * a newly applied commission event signals again (see migrations/012_customer_wakes.sql).
 */
export async function clearCustomerWake(
  db: Queryable,
  operatorId: string,
  customerId: string,
): Promise<void> {
  await db.query({ ...APPLY_STATEMENTS.clearWake, values: [operatorId, customerId] });
}
