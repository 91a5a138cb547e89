import type { Hold } from '../db/commission-holds.js';
import type { CommissionEntry } from '../db/ledger.js';
import type { Queryable } from '../db/pool.js';
import { limitTransaction } from '../db/settlement.js';
import type { CommissionStatus } from '../domain/commission/evaluate.js';

/** What a settlement step returns, and the limits every step's transaction runs under. */

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
  /** For the metrics only; removed before the result reaches the workflow. */
  currency?: string;
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

export const emptyDispatch = (): Dispatch => ({ notifications: [], cancellations: [] });

export type { UnsettledRow } from '../db/settlement.js';

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

export async function limitStep(tx: Queryable): Promise<void> {
  await limitTransaction(tx, STEP_LIMITS);
}

export interface SettleOptions {
  /** Folding stops once this much time has passed (default `SETTLE_BUDGET_MS`); the rest waits for `more`. */
  budgetMs?: number;
  /** Aborted when the step's attempt is cancelled or timed out: it stops before the next event. */
  signal?: AbortSignal | undefined;
  /** Days before an amount's date a rate may come from (`FX_RATE_LOOKBACK_DAYS`; src/domain/fx.ts). */
  fxLookbackDays?: number | undefined;
}

/** A step's result before it has settled, booked or parked anything. */
export function emptyResult(): SettlementResult {
  return { settled: [], booked: [], nextHold: null, pending: 0, parked: [], dispatch: emptyDispatch() };
}
