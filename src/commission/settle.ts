import { ensureDeliveries } from '../db/deliveries.js';
import { deliveryPolicy, findSubscribedEndpoints, operatorRetryPolicy } from '../db/endpoints.js';
import {
  approve,
  bookAccrual,
  compensate,
  findAffiliate,
  findEntryByKey,
  flagForReview,
  getCommission,
  reject,
  type Commission,
  type CommissionEntry,
  type LedgerResult,
} from '../db/ledger.js';
import { insertEmittedEvent, parkEvent } from '../db/emitted-events.js';
import { dueHolds, openCommissions, statusesByKey, type Hold } from '../db/commission-holds.js';
import type { Queryable } from '../db/pool.js';
import { revshareTermsOf, type Deal } from '../domain/commission/deals.js';
import {
  commissionsNeeded,
  evaluate,
  initialState,
  storedState,
  withStatus,
  type AccruedCommission,
  type CommissionState,
  type CommissionStatus,
  type LedgerIntent,
} from '../domain/commission/evaluate.js';
import { COMMISSION_EVENT_TYPES, type CommissionEvent } from '../domain/commission/facts.js';
import type { RevshareAccount } from '../domain/commission/revshare.js';
import { normalize, sub } from '../domain/money.js';
import { eventWorkflowId } from '../domain/ids.js';
import { bodyHash } from '../ingest/body-hash.js';
import { internalEventId } from '../ingest/internal-event.js';
import { recordParked } from './parked-event.js';

/**
 * Settlement: the commission engine's one way of changing money. Each function runs inside one
 * transaction and does everything a decision implies, or nothing: the ledger entries, the evaluator's
 * state, the RevShare account, the `commission.*` notification events with their deliveries, and the
 * cancellation of conversions a rejection or reversal overtakes. What must happen outside PostgreSQL
 * afterwards (starting the notifications' workflows, telling event workflows about cancelled deliveries)
 * is returned as a `Dispatch`; a step that books nothing rebuilds from the rows whatever an earlier try
 * left undispatched (see `finish`).
 *
 * Settling is idempotent by construction. It folds every recorded commission event of the customer not
 * yet settled (`events.settled_at`), in event-time order, so a replayed call finds nothing to do, a lost
 * signal is caught up by the next one, and a customer whose events arrived before their affiliate existed
 * is settled in full when it does.
 *
 * Each event is folded in a savepoint. One whose settlement fails deterministically (see `parkable`) is
 * rolled back alone and parked with its error; the others settle, and it waits for an operator to fix the
 * deal and re-settle it. An event that earns by itself but found no affiliate (see `REEVALUATED_TYPES`)
 * is settled and marked, and folded again once the customer has an affiliate.
 */

export { holdsOf, type Hold } from '../db/commission-holds.js';

/** A notification event whose workflow must be started, and deliveries its event workflow must drop. */
export interface Dispatch {
  notifications: { eventId: string; workflowId: string; type: string; customerId: string }[];
  cancellations: { workflowId: string; deliveryId: string; reason: string }[];
}

/** An entry a settlement booked, as the workflow reports it. */
export interface Booked {
  entryId: string;
  commissionId: string;
  kind: CommissionEntry['kind'];
  status: CommissionStatus;
}

/** An event a settlement could not fold and set aside, with the error that a retry would meet again. */
export interface Parked {
  eventId: string;
  error: string;
}

/** Parked events a step reports, oldest first; all of them are in `events`. */
export const PARKED_LISTED = 20;

export interface SettlementResult {
  /** The commission events folded by this call, in the order applied. */
  settled: string[];
  /**
   * The customer's parked events as they stand after the step (at most `PARKED_LISTED`): events whose
   * settlement failed deterministically, left unsettled and skipped until re-settled by hand.
   */
  parked: Parked[];
  booked: Booked[];
  /**
   * The earliest pending commission's hold, and how many are pending: all the workflow needs for its one
   * timer. Never the list, which for a busy trader would outgrow a Temporal payload.
   */
  nextHold: Hold | null;
  pending: number;
  /**
   * Events are left unsettled because the step spent its time budget (`SETTLE_BUDGET_MS`): settle again.
   * Absent in results recorded before the budget existed.
   */
  more?: boolean;
  dispatch: Dispatch;
}

export interface CustomerRef {
  operatorId: string;
  customerId: string;
}

const emptyDispatch = (): Dispatch => ({ notifications: [], cancellations: [] });

interface UnsettledRow {
  event_id: string;
  type: string;
  /** Set when the event was settled before and is evaluated again (see `REEVALUATED_TYPES`). */
  settled_at: Date | null;
  occurred_at: Date;
  payload: { data: Record<string, unknown>; attribution?: { affiliateId?: string } };
  facts: { effectiveAttribution?: { affiliateId?: string } | null } | null;
}

/**
 * How long a settlement step folds events before it commits what it has and reports `more`: well below
 * the step's 30 s activity timeout (workflows/settle-customer.ts), so a customer with a large backlog
 * settles in several steps rather than in one that times out and is retried for ever.
 */
export const SETTLE_BUDGET_MS = 10_000;

/**
 * Limits of a step's transaction, below the step's 30 s activity timeout: a statement, a lock wait and
 * a pause in the transaction cannot outlive the attempt that started them. An attempt that timed out
 * (its retry already running) or whose worker stopped talking loses its connection to PostgreSQL's own
 * timers, never holds it, its row locks or a pool slot the API needs. A statement or lock timeout is a
 * fault of the moment, never parked (SQLSTATE 57014, 55P03: see `parkable`).
 */
export const STEP_LIMITS = { statementMs: 10_000, lockMs: 5_000, idleMs: 15_000 };

async function limitStep(tx: Queryable): Promise<void> {
  await tx.query(
    `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
            set_config('idle_in_transaction_session_timeout', $3, true)`,
    [`${STEP_LIMITS.statementMs}`, `${STEP_LIMITS.lockMs}`, `${STEP_LIMITS.idleMs}`],
  );
}

export interface SettleOptions {
  /** Folding stops once this much time has passed (default `SETTLE_BUDGET_MS`); the rest waits for `more`. */
  budgetMs?: number;
  /** Aborted when the step's attempt is cancelled or timed out: it stops before the next event. */
  signal?: AbortSignal | undefined;
}

/** Folds the customer's unsettled commission events into the ledger, in event-time order. */
export async function settleCustomerTx(
  tx: Queryable,
  ref: CustomerRef,
  opts: SettleOptions = {},
): Promise<SettlementResult> {
  const { operatorId, customerId } = ref;
  const deadline = Date.now() + (opts.budgetMs ?? SETTLE_BUDGET_MS);
  await limitStep(tx);
  // The customer's state row, created on first use and locked for the rest of the transaction.
  const { rows: stateRows } = await tx.query<{ state: CommissionState }>(
    `INSERT INTO commission_customers (operator_id, customer_id, state) VALUES ($1, $2, $3)
     ON CONFLICT (operator_id, customer_id) DO UPDATE SET updated_at = commission_customers.updated_at
     RETURNING state`,
    [operatorId, customerId, initialState(customerId)],
  );
  // Rows written before the state was bounded carry every commission and event id: dropped here.
  let state = storedState(stateRows[0]!.state);

  // Unsettled events, and those settled while the customer had no affiliate once they have one.
  // Two branches, each on its partial index, so a step reads what is open, not the customer's whole history
  // (a trader's 10,000 settled events: 214 ms as one OR over the customer's events, 1.5 ms so).
  const { rows: events } = await tx.query<UnsettledRow>(
    `SELECT * FROM (
       SELECT event_id, type, settled_at, occurred_at, received_at, payload, facts FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_at IS NULL AND settlement_parked_at IS NULL
          AND type = ANY($3)
       UNION ALL
       SELECT event_id, type, settled_at, occurred_at, received_at, payload, facts FROM events
        WHERE operator_id = $1 AND customer_id = $2 AND settled_unattributed AND settlement_parked_at IS NULL
          AND type = ANY($3)
          AND EXISTS (SELECT 1 FROM customers c
                        JOIN affiliates a ON a.operator_id = c.operator_id
                                         AND a.affiliate_id = c.attribution->>'affiliateId'
                       WHERE c.operator_id = $1 AND c.customer_id = $2)) open
      ORDER BY occurred_at, received_at, event_id`,
    [operatorId, customerId, COMMISSION_EVENT_TYPES],
  );
  const result = emptyResult();
  if (!events.length) {
    await finish(tx, ref, result);
    return result;
  }

  state = await refreshStatuses(tx, ref, state);
  const customer = await customerAttribution(tx, ref);
  // The customer's affiliate is the one their registration bound; before it arrives, the event's own.
  const affiliateOf = (row: UnsettledRow): string | null =>
    (customer?.affiliateId as string | undefined) ??
    row.facts?.effectiveAttribution?.affiliateId ??
    row.payload.attribution?.affiliateId ??
    null;
  await lockRevshareAccounts(tx, operatorId, events, affiliateOf);
  const unattributed: string[] = [];
  let newlySettled = 0;
  for (const row of events) {
    opts.signal?.throwIfAborted();
    if (result.settled.length && Date.now() > deadline) {
      result.more = true;
      break;
    }
    // Each event in its own savepoint: one that fails for good is parked, and the others still settle.
    const step: SettlementResult = {
      settled: [],
      booked: [],
      nextHold: null,
      pending: 0,
      parked: [],
      dispatch: emptyDispatch(),
    };
    await tx.query('SAVEPOINT settle_event');
    try {
      const settledEvent = await settleEvent(tx, ref, row, affiliateOf(row), state, step);
      state = storedState(settledEvent.state);
      if (!settledEvent.attributed && REEVALUATED_TYPES.has(row.type)) unattributed.push(row.event_id);
      await tx.query('RELEASE SAVEPOINT settle_event');
    } catch (err) {
      const error = await parkable(tx, err);
      if (!error) throw err;
      const parkedAt = await parkEvent(tx, operatorId, row.event_id, error);
      result.parked.push({ eventId: row.event_id, error });
      const announced = await recordParked(tx, ref, {
        eventId: row.event_id,
        eventType: row.type,
        error,
        parkedAt,
      });
      if (announced) result.dispatch.notifications.push(announced);
      continue;
    }
    result.settled.push(row.event_id);
    if (!row.settled_at) newlySettled += 1;
    result.booked.push(...step.booked);
    result.dispatch.notifications.push(...step.dispatch.notifications);
    result.dispatch.cancellations.push(...step.dispatch.cancellations);
  }

  await tx.query(
    `UPDATE events SET settled_at = coalesce(settled_at, now()), settled_unattributed = (event_id = ANY($3))
      WHERE operator_id = $1 AND event_id = ANY($2)`,
    [operatorId, result.settled, unattributed],
  );
  await tx.query(
    `UPDATE commission_customers SET state = $3, settled = settled + $4, updated_at = now()
      WHERE operator_id = $1 AND customer_id = $2`,
    [operatorId, customerId, state, newlySettled],
  );
  await finish(tx, ref, result);
  return result;
}

/**
 * Events that earn or move money by themselves, not through the customer's facts (which every later event
 * folds anyway): settled while the customer had no affiliate (its registration not yet applied, or its
 * affiliate not yet set up), they earned nothing, and are evaluated again once the customer has one.
 * Evaluating one again is safe: facts fold idempotently and every commission has its idempotency key.
 */
const REEVALUATED_TYPES: ReadonlySet<string> = new Set([
  'revenue.daily',
  'deposit.chargeback',
  'trade.closed',
  'challenge.purchased',
]);

/**
 * Folds one event: evaluates it under the affiliate's deal, books its intents, moves the account. Says
 * whether the event had an affiliate to be paid under.
 */
async function settleEvent(
  tx: Queryable,
  ref: CustomerRef,
  row: UnsettledRow,
  affiliateId: string | null,
  before: CommissionState,
  result: SettlementResult,
): Promise<{ state: CommissionState; attributed: boolean }> {
  const { operatorId } = ref;
  const affiliate = affiliateId ? await findAffiliate(tx, operatorId, affiliateId) : null;
  // A suspended affiliate accrues nothing (the ledger refuses it, below); compensations of what it earned
  // before still apply.
  const deal: Deal | null = affiliate?.deal ?? null;
  let event = {
    id: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at.toISOString(),
    data: row.payload.data,
  } as CommissionEvent;
  if (event.type === 'revenue.daily' && affiliate) event = await revenueDifference(tx, ref, event);

  let account: RevshareAccount | null = null;
  // Revenue accrues RevShare and a chargeback lowers the period's NGR: both move the affiliate's account.
  const movesAccount = event.type === 'revenue.daily' || event.type === 'deposit.chargeback';
  const revshare = movesAccount && deal && affiliateId ? revshareTermsOf(deal) : null;
  if (revshare && (event.type === 'revenue.daily' || event.type === 'deposit.chargeback')) {
    const { rows } = await tx.query<{ account: RevshareAccount }>(
      `SELECT account FROM revshare_accounts
        WHERE operator_id = $1 AND affiliate_id = $2 AND currency = $3 FOR UPDATE`,
      [operatorId, affiliateId, event.data.currency],
    );
    account = rows[0]?.account ?? null;
  }

  const out = evaluate({
    deal,
    state: await withOpenCommissions(tx, ref, before, event),
    event,
    revshareAccount: account,
  });
  let state = out.state;
  for (const intent of out.intents) {
    const outcome = await book(tx, ref, affiliateId, intent);
    if (outcome.result.outcome === 'refused' && intent.type === 'accrue') {
      // Earned while the affiliate was suspended: forfeited for good, so it is neither accrued when the
      // affiliate is reinstated nor undone later (the evaluator treats it as rejected). Any other refusal
      // (no such affiliate): forgotten, so a later event may earn it under a deal that exists by then.
      const key = intent.idempotencyKey;
      state =
        outcome.result.refusal === 'affiliate_suspended'
          ? withStatus(state, key, 'rejected')
          : { ...state, commissions: state.commissions.filter((c) => c.idempotencyKey !== key) };
    }
    if (outcome.result.outcome !== 'booked') continue;
    const entry = outcome.result.entry;
    const commissionId = entry.kind === 'accrual' ? entry.id : (entry.relatedEntry ?? entry.reversalOf)!;
    await booked(tx, ref, result, entry, commissionId);
  }
  if (
    revshare &&
    out.revshareAccount &&
    (event.type === 'revenue.daily' || event.type === 'deposit.chargeback')
  ) {
    await tx.query(
      `INSERT INTO revshare_accounts (operator_id, affiliate_id, currency, account) VALUES ($1, $2, $3, $4)
       ON CONFLICT (operator_id, affiliate_id, currency)
       DO UPDATE SET account = EXCLUDED.account, updated_at = now()`,
      [operatorId, affiliateId, event.data.currency, out.revshareAccount],
    );
  }
  return { state, attributed: affiliate !== null };
}

type RevenueEvent = Extract<CommissionEvent, { type: 'revenue.daily' }>;

/**
 * The customer's revenue for a day and currency is one figure: the last one sent. A `revenue.daily` under
 * a new id for a day already settled is a correction: it replaces the figure, and only its difference to
 * the figure it replaces moves the RevShare account (a positive one earns what it lifts the month by; a
 * negative one is netted against later revenue, as a chargeback is). Returns the event with that
 * difference as its NGR. The customer's row lock serialises the days of one customer.
 */
async function revenueDifference(
  tx: Queryable,
  ref: CustomerRef,
  event: RevenueEvent,
): Promise<RevenueEvent> {
  const { date, ngr, currency } = event.data;
  const { rows } = await tx.query<{ ngr: string }>(
    `SELECT ngr::text FROM revenue_days
      WHERE operator_id = $1 AND customer_id = $2 AND day = $3 AND currency = $4`,
    [ref.operatorId, ref.customerId, date, currency],
  );
  await tx.query(
    `INSERT INTO revenue_days (operator_id, customer_id, day, currency, ngr, event_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (operator_id, customer_id, day, currency)
     DO UPDATE SET ngr = EXCLUDED.ngr, event_id = EXCLUDED.event_id, updated_at = now()`,
    [ref.operatorId, ref.customerId, date, currency, ngr, event.id],
  );
  const previous = rows[0]?.ngr;
  return previous === undefined
    ? event
    : { ...event, data: { ...event.data, ngr: normalize(sub(ngr, previous)) } };
}

/**
 * The error to park an event with, when its failure is deterministic: settling it again would fail the
 * same way, so retrying would only stop the customer's other events for good. That is an error of the
 * code or of the data (a RangeError from a date past the calendar, PostgreSQL's data and constraint
 * errors: a value no column can hold). Faults of the moment (a lost connection, a deadlock, a
 * serialisation failure, a statement timeout, PostgreSQL shutting down) are not: null, and the step
 * fails and is retried whole. The savepoint is rolled back first; if even that fails, the connection is
 * gone and so is the transaction.
 */
async function parkable(tx: Queryable, err: unknown): Promise<string | null> {
  try {
    await tx.query('ROLLBACK TO SAVEPOINT settle_event');
  } catch {
    return null;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SQLSTATE classes: 22 data exception, 23 integrity (a unique violation may be a race: retried),
    // 42 a statement the data made invalid. Anything else, or a Node error code (ECONNRESET), is a fault.
    const deterministic =
      /^[0-9A-Z]{5}$/.test(code) &&
      (code.startsWith('22') || (code.startsWith('23') && code !== '23505') || code.startsWith('42'));
    if (!deterministic) return null;
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return (typeof code === 'string' ? `${message} (SQLSTATE ${code})` : message).slice(0, 1000);
}

/**
 * Locks the RevShare accounts the events may move, before any is read. Customers of one affiliate settle
 * in separate transactions and meet only here; `SELECT ... FOR UPDATE` on the account row locks nothing
 * while the row does not exist yet (a new affiliate's first revenue), and both would start from an empty
 * account. A transaction-scoped advisory lock per (operator, affiliate, currency) exists before the row
 * does; taken in one sorted order, two customers with several currencies cannot deadlock on them.
 */
async function lockRevshareAccounts(
  tx: Queryable,
  operatorId: string,
  events: UnsettledRow[],
  affiliateOf: (row: UnsettledRow) => string | null,
): Promise<void> {
  const keys = new Set<string>();
  for (const row of events) {
    if (row.type !== 'revenue.daily' && row.type !== 'deposit.chargeback') continue;
    const affiliateId = affiliateOf(row);
    const currency = row.payload.data.currency;
    if (affiliateId && typeof currency === 'string')
      keys.add(`revshare-account/${operatorId}/${affiliateId}/${currency}`);
  }
  if (!keys.size) return;
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [
    [...keys].sort(),
  ]);
}

/** Approves the customer's pending commissions whose hold has ended by `at` (the workflow's clock). */
/** Approvals booked by one step at most. */
export const APPROVE_BATCH = 500;

export async function approveDueTx(
  tx: Queryable,
  ref: CustomerRef & { at: string },
  opts: SettleOptions = {},
): Promise<SettlementResult> {
  const result = emptyResult();
  const deadline = Date.now() + (opts.budgetMs ?? SETTLE_BUDGET_MS);
  await limitStep(tx);
  await lockCustomer(tx, ref);
  // At most APPROVE_BATCH a step: more due ones leave the earliest hold due, and the workflow goes again.
  for (const hold of await dueHolds(tx, ref, ref.at, APPROVE_BATCH)) {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) break;
    const r = await approve(tx, ref.operatorId, hold.commissionId, { at: ref.at });
    if (r.outcome !== 'booked') continue;
    await booked(tx, ref, result, r.entry, hold.commissionId);
  }
  await finish(tx, ref, result);
  return result;
}

export interface Decision {
  commissionId: string;
  action: 'approve' | 'reject';
  /** Required to reject; shown to the affiliate. */
  reason?: string | undefined;
  /** When the decision is made: the workflow's clock. */
  at: string;
}

export interface DecisionResult extends SettlementResult {
  outcome: LedgerResult['outcome'];
  refusal: string | null;
  commission: Commission | null;
}

/** A decision by hand (`POST /v1/commissions/{id}/approve|reject`), serialised with the customer's events. */
export async function decideTx(tx: Queryable, ref: CustomerRef, d: Decision): Promise<DecisionResult> {
  await limitStep(tx);
  await lockCustomer(tx, ref);
  const result = emptyResult();
  const r =
    d.action === 'approve'
      ? await approve(tx, ref.operatorId, d.commissionId, { at: d.at, manual: true })
      : await reject(tx, ref.operatorId, d.commissionId, {
          reason: d.reason ?? 'rejected by the operator',
          at: d.at,
          causeEventId: null,
        });
  if (r.outcome === 'booked') {
    await booked(tx, ref, result, r.entry, d.commissionId);
  }
  await finish(tx, ref, result);
  return {
    ...result,
    outcome: r.outcome,
    refusal: r.outcome === 'refused' ? r.refusal : null,
    commission: await getCommission(tx, ref.operatorId, d.commissionId),
  };
}

/**
 * Ends a step: the customer's earliest hold and pending count as they now stand, its parked events, and, when the step booked nothing, whatever an
 * earlier try of it committed but did not dispatch (a crash between the commit and the dispatch), rebuilt
 * from the rows. One statement for both; the deliveries to cancel are read only when there is something.
 */
async function finish(tx: Queryable, ref: CustomerRef, result: SettlementResult): Promise<void> {
  const lookForUndispatched = result.booked.length === 0;
  const { rows } = await tx.query<{
    kind: 'hold' | 'notification' | 'parked';
    id: string;
    hold_until: Date | null;
    workflow_id: string | null;
    type: string | null;
  }>(
    // The earliest hold, with the number pending as its workflow_id column (a window count before LIMIT).
    // Both from commission_holds' index: the customer's pending commissions only, never the closed ones.
    `(SELECT 'hold' AS kind, h.commission_id AS id, h.hold_until,
             (SELECT count(*) FROM commission_holds c
               WHERE c.operator_id = $1 AND c.customer_id = $2)::text AS workflow_id, NULL::text AS type
        FROM commission_holds h
       WHERE h.operator_id = $1 AND h.customer_id = $2
       ORDER BY h.hold_until, h.commission_id
       LIMIT 1)
     UNION ALL
     SELECT 'notification', e.event_id, NULL, e.workflow_id, e.type
       FROM events e
      WHERE $3::boolean AND e.operator_id = $1 AND e.customer_id = $2
        AND e.commission_entry_id IS NOT NULL AND e.workflow_started_at IS NULL
     UNION ALL
     (SELECT 'parked', e.event_id, e.settlement_parked_at, NULL, e.settlement_error
        FROM events e
       WHERE e.operator_id = $1 AND e.customer_id = $2 AND e.settlement_parked_at IS NOT NULL
       ORDER BY e.settlement_parked_at, e.event_id
       LIMIT ${PARKED_LISTED})
      ORDER BY kind, hold_until, id`,
    [ref.operatorId, ref.customerId, lookForUndispatched],
  );
  const hold = rows.find((r) => r.kind === 'hold');
  result.nextHold = hold ? { commissionId: hold.id, holdUntil: hold.hold_until!.toISOString() } : null;
  result.pending = hold ? Number(hold.workflow_id) : 0;
  // As they stand, not what this step parked: a step retried after its commit (its first result lost
  // with a failed workflow task) still tells the workflow.
  result.parked = rows.filter((r) => r.kind === 'parked').map((r) => ({ eventId: r.id, error: r.type! }));
  if (!lookForUndispatched) return;
  const undispatched = rows.filter((r) => r.kind === 'notification');
  if (!undispatched.length) return;
  for (const r of undispatched)
    result.dispatch.notifications.push({
      eventId: r.id,
      workflowId: r.workflow_id!,
      type: r.type!,
      customerId: ref.customerId,
    });
  const { rows: cancelled } = await tx.query<{ id: string; workflow_id: string; last_error: string }>(
    `SELECT id, workflow_id, last_error FROM deliveries
      WHERE operator_id = $1 AND replaced_by_event_id = ANY($2)`,
    [ref.operatorId, undispatched.map((r) => r.id)],
  );
  for (const c of cancelled)
    result.dispatch.cancellations.push({ workflowId: c.workflow_id, deliveryId: c.id, reason: c.last_error });
}

/** Reports an entry this step booked and records the notification it brings about. */
async function booked(
  tx: Queryable,
  ref: CustomerRef,
  result: SettlementResult,
  entry: CommissionEntry,
  commissionId: string,
): Promise<void> {
  result.booked.push({ entryId: entry.id, commissionId, kind: entry.kind, status: entry.status });
  await notify(tx, ref, entry, result.dispatch);
}

async function lockCustomer(tx: Queryable, ref: CustomerRef): Promise<void> {
  await tx.query(
    `INSERT INTO commission_customers (operator_id, customer_id, state) VALUES ($1, $2, $3)
     ON CONFLICT (operator_id, customer_id) DO UPDATE SET updated_at = commission_customers.updated_at`,
    [ref.operatorId, ref.customerId, initialState(ref.customerId)],
  );
}

/**
 * The kept commissions (the CPA) with their status as the ledger has it (approved by a timer or by hand),
 * each looked up by its key: nothing of the customer's other commissions is read.
 */
async function refreshStatuses(
  tx: Queryable,
  ref: CustomerRef,
  state: CommissionState,
): Promise<CommissionState> {
  if (!state.commissions.length) return state;
  const status = await statusesByKey(
    tx,
    ref.operatorId,
    state.commissions.map((c) => c.idempotencyKey),
  );
  return {
    ...state,
    commissions: state.commissions.map((c) => {
      const s = status.get(c.idempotencyKey);
      return s && s !== c.status ? { ...c, status: s } : c;
    }),
  };
}

/**
 * The state with the open commissions the event may compensate, from the ledger (`commissionsNeeded`):
 * the stored state keeps only the CPA. In booking order; the stored CPA (with its terms) in its place.
 */
async function withOpenCommissions(
  tx: Queryable,
  ref: CustomerRef,
  state: CommissionState,
  event: CommissionEvent,
): Promise<CommissionState> {
  const needed = commissionsNeeded(state.facts, event);
  if (!needed) return state;
  const open = await openCommissions(tx, ref, 'all' in needed ? null : needed.keys);
  const kept = new Map(state.commissions.map((c) => [c.idempotencyKey, c]));
  const commissions: AccruedCommission[] = open.map((c) => {
    const own = kept.get(c.idempotencyKey);
    kept.delete(c.idempotencyKey);
    return own ? { ...own, status: c.status } : c;
  });
  return { ...state, commissions: [...commissions, ...kept.values()] };
}

async function customerAttribution(tx: Queryable, ref: CustomerRef): Promise<Record<string, unknown> | null> {
  const { rows } = await tx.query<{ attribution: Record<string, unknown> | null }>(
    'SELECT attribution FROM customers WHERE operator_id = $1 AND customer_id = $2',
    [ref.operatorId, ref.customerId],
  );
  return rows[0]?.attribution ?? null;
}

async function book(
  tx: Queryable,
  ref: CustomerRef,
  affiliateId: string | null,
  intent: LedgerIntent,
): Promise<{ result: LedgerResult }> {
  if (intent.type === 'accrue') {
    if (!affiliateId) return { result: { outcome: 'refused', refusal: 'affiliate_not_found', entry: null } };
    return { result: await bookAccrual(tx, { ...intent, operatorId: ref.operatorId, affiliateId }) };
  }
  const target = await findEntryByKey(tx, ref.operatorId, intent.target.idempotencyKey);
  if (!target) return { result: { outcome: 'refused', refusal: 'not_found', entry: null } };
  const comp = { reason: intent.reason, at: intent.occurredAt, causeEventId: intent.causeEventId };
  // A review moves no money whatever the status; reject and reverse are decided again under the row lock,
  // in case a hold timer approved the commission since the evaluator last heard.
  return {
    result:
      intent.kind === 'review'
        ? await flagForReview(tx, ref.operatorId, target.id, comp)
        : await compensate(tx, ref.operatorId, target.id, comp),
  };
}

const NOTIFICATION_TYPE = {
  accrual: 'commission.accrued',
  approval: 'commission.approved',
  rejection: 'commission.rejected',
  reversal: 'commission.reversed',
} as const;

/**
 * Records the `commission.*` event an entry brings about, with its deliveries, if any endpoint subscribes.
 * A rejection or reversal first cancels the conversions it overtakes: each endpoint that has not yet
 * received the conversion (the earning event, or this commission's accrued/approved notification) gets
 * neither, so no tracker ever sees a reversal before its conversion.
 */
async function notify(
  tx: Queryable,
  ref: CustomerRef,
  entry: CommissionEntry,
  dispatch: Dispatch,
): Promise<void> {
  if (entry.kind === 'review') return;
  const type = NOTIFICATION_TYPE[entry.kind];
  const commissionId = entry.kind === 'accrual' ? entry.id : (entry.relatedEntry ?? entry.reversalOf)!;
  const accrual = entry.kind === 'accrual' ? entry : await findAccrual(tx, ref.operatorId, commissionId);
  const endpoints = await findSubscribedEndpoints(tx, ref.operatorId, type, entry.affiliateId);
  if (!endpoints.length) return;

  const eventId = internalEventId(`${type}~${entry.id}`);
  const workflowId = eventWorkflowId(ref.operatorId, eventId);
  let targets = endpoints;
  if (entry.kind === 'rejection' || entry.kind === 'reversal') {
    const related = await entriesOf(tx, commissionId);
    const { rows: overtaken } = await tx.query<{ id: string; workflow_id: string; endpoint_id: string }>(
      `UPDATE deliveries d
          SET status = 'cancelled', completed_at = now(), updated_at = now(), next_attempt_at = NULL,
              last_error = $5, replaced_by_event_id = $6
        WHERE d.operator_id = $1 AND d.endpoint_id = ANY($2) AND d.status IN ('pending', 'retrying')
          AND (d.event_id = $3 OR d.event_id IN (SELECT event_id FROM events
                                                  WHERE operator_id = $1 AND commission_entry_id = ANY($4)))
        RETURNING d.id, d.workflow_id, d.endpoint_id`,
      [
        ref.operatorId,
        endpoints.map((e) => e.id),
        accrual.eventId,
        related,
        `cancelled: the commission was ${entry.status} before this conversion was delivered`,
        eventId,
      ],
    );
    // A conversion that failed for good never reached the endpoint either: it gets no reversal, and the
    // failed delivery is marked so that no redrive or recovery sends it after the commission was undone.
    const { rows: abandoned } = await tx.query<{ endpoint_id: string }>(
      `UPDATE deliveries d SET replaced_by_event_id = $5, updated_at = now()
        WHERE d.operator_id = $1 AND d.endpoint_id = ANY($2) AND d.status = 'failed'
          AND (d.event_id = $3 OR d.event_id IN (SELECT event_id FROM events
                                                  WHERE operator_id = $1 AND commission_entry_id = ANY($4)))
        RETURNING d.endpoint_id`,
      [ref.operatorId, endpoints.map((e) => e.id), accrual.eventId, related, eventId],
    );
    const replaced = new Set([...overtaken, ...abandoned].map((o) => o.endpoint_id));
    targets = endpoints.filter((e) => !replaced.has(e.id));
    for (const o of overtaken)
      dispatch.cancellations.push({
        workflowId: o.workflow_id,
        deliveryId: o.id,
        reason: `the commission was ${entry.status} before this conversion was delivered`,
      });
  }

  // Recorded even when every subscriber had its conversion replaced: an attempt already on the wire that
  // gets through sends this event's data after it (activities/delivery/follow-ups.ts, sendOvertakenReversal).
  const { rows: customerRows } = await tx.query<{ attribution: Record<string, unknown> | null }>(
    'SELECT attribution FROM customers WHERE operator_id = $1 AND customer_id = $2',
    [ref.operatorId, ref.customerId],
  );
  const attribution = customerRows[0]?.attribution ?? { affiliateId: entry.affiliateId };
  const data = notificationData(entry, accrual);
  const payload = {
    id: eventId,
    type,
    occurredAt: new Date(entry.occurredAt).toISOString(),
    customerId: ref.customerId,
    attribution,
    data,
  };
  const inserted = await insertEmittedEvent(tx, {
    operatorId: ref.operatorId,
    eventId,
    type,
    workflowId,
    customerId: ref.customerId,
    payload,
    bodyHash: bodyHash(payload),
    facts: { effectiveAttribution: attribution, ftd: false },
    commissionEntryId: entry.id,
  });
  if (!inserted) return; // booked and notified by an earlier try of this transaction's work
  const policy = await operatorRetryPolicy(tx, ref.operatorId);
  await ensureDeliveries(
    tx,
    ref.operatorId,
    eventId,
    workflowId,
    targets.map((e) => ({ endpointId: e.id, eventType: type, retryPolicy: deliveryPolicy(e, policy) })),
  );
  dispatch.notifications.push({ eventId, workflowId, type, customerId: ref.customerId });
}

async function findAccrual(tx: Queryable, operatorId: string, id: string): Promise<CommissionEntry> {
  const { rows } = await tx.query<{ idempotency_key: string }>(
    `SELECT idempotency_key FROM commission_entries WHERE operator_id = $1 AND id = $2 AND kind = 'accrual'`,
    [operatorId, id],
  );
  const entry = rows[0] ? await findEntryByKey(tx, operatorId, rows[0].idempotency_key) : null;
  if (!entry) throw new Error(`accrual ${id} not found`);
  return entry;
}

/** Ids of the accrual and of every entry that names it. */
async function entriesOf(tx: Queryable, commissionId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM commission_entries WHERE id = $1 OR related_entry = $1 OR reversal_of = $1',
    [commissionId],
  );
  return rows.map((r) => r.id);
}

/**
 * The `data` of a `commission.*` event: the commission as the API shows it after this entry, plus the ids
 * trackers match on. `eventId` is the event that caused this transition (null for an approval or a
 * decision by hand); `conversionEventId` is the event that earned the commission, the transaction id a
 * tracker knows from the conversion.
 */
export function notificationData(entry: CommissionEntry, accrual: CommissionEntry): Record<string, unknown> {
  const isReversal = entry.kind === 'reversal';
  return {
    id: isReversal ? entry.id : accrual.id,
    commissionId: accrual.id,
    affiliateId: accrual.affiliateId,
    customerId: accrual.customerId,
    eventId: entry.eventId,
    conversionEventId: accrual.eventId,
    model: accrual.model,
    rule: accrual.rule,
    amount: entry.kind === 'reversal' ? entry.amount : accrual.amount,
    currency: accrual.currency,
    status: entry.status,
    holdUntil: accrual.holdUntil?.toISOString() ?? null,
    reversalOf: isReversal ? accrual.id : null,
    reason: entry.reason,
    createdAt: entry.createdAt.toISOString(),
  };
}

/** A step's result before it has settled, booked or parked anything. */
function emptyResult(): SettlementResult {
  return { settled: [], booked: [], nextHold: null, pending: 0, parked: [], dispatch: emptyDispatch() };
}
