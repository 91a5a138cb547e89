import type { CommissionStatus } from '../domain/commission/evaluate.js';
import { neg, type Decimal } from '../domain/money.js';
import {
  entryFromRow,
  findEntryByKey,
  ms,
  refused,
  type CommissionEntry,
  type EntryKind,
  type EntryRow,
  type LedgerResult,
} from './commission-entries.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';

/**
 * A commission's transitions after its accrual (approve, reject, reverse, flag for review, compensate),
 * each a new entry booked under the accrual's row lock. See ledger.ts.
 */

/** A commission as its entries tell it, read with the accrual row locked. */
interface Locked {
  accrual: CommissionEntry;
  resolution: CommissionEntry | null;
  reversal: CommissionEntry | null;
  reviews: CommissionEntry[];
}

async function lockCommission(db: Queryable, operatorId: string, accrualId: string): Promise<Locked | null> {
  const { rows } = await db.query<EntryRow>(
    `SELECT * FROM commission_entries WHERE operator_id = $1 AND id = $2 AND kind = 'accrual' FOR UPDATE`,
    [operatorId, accrualId],
  );
  if (!rows[0]) return null;
  const { rows: linked } = await db.query<EntryRow>(
    `SELECT * FROM commission_entries
      WHERE related_entry = $1 OR (reversal_of = $1 AND kind = 'reversal')`,
    [accrualId],
  );
  const entries = linked.map(entryFromRow);
  return {
    accrual: entryFromRow(rows[0]),
    resolution: entries.find((e) => e.kind === 'approval' || e.kind === 'rejection') ?? null,
    reversal: entries.find((e) => e.kind === 'reversal') ?? null,
    reviews: entries.filter((e) => e.kind === 'review'),
  };
}

/** The commission's status from its entries: the reversal, else the resolution, else pending. */
function statusOf(c: Locked): CommissionStatus {
  if (c.reversal) return 'reversed';
  return c.resolution?.status ?? 'pending';
}

interface EntryDraft {
  kind: Exclude<EntryKind, 'accrual'>;
  status: CommissionStatus;
  amount: Decimal;
  eventId: string | null;
  reason: string | null;
  occurredAt: string | Date;
  idempotencyKey: string;
}

type Decision = { book: EntryDraft } | { result: LedgerResult };

/**
 * Locks the accrual, lets `decide` judge its entries, and books what it asks for. If the insert loses a
 * race (possible only outside a transaction), judges again from what won.
 */
async function transition(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  decide: (c: Locked) => Decision,
): Promise<LedgerResult> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const c = await lockCommission(db, operatorId, accrualId);
    if (!c) return refused('not_found');
    const decision = decide(c);
    if ('result' in decision) return decision.result;
    const d = decision.book;
    const a = c.accrual;
    const { rows } = await db.query<EntryRow>(
      `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind,
                                       amount, currency, status, occurred_at, related_entry, reversal_of, reason,
                                       idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [
        newId('commission'),
        operatorId,
        a.affiliateId,
        a.customerId,
        d.eventId,
        a.rule,
        a.model,
        d.kind,
        d.amount,
        a.currency,
        d.status,
        d.occurredAt,
        d.kind === 'reversal' ? null : a.id,
        d.kind === 'reversal' ? a.id : null,
        d.reason,
        d.idempotencyKey,
      ],
    );
    if (rows[0]) return { outcome: 'booked', entry: entryFromRow(rows[0]) };
    const winner = await findEntryByKey(db, operatorId, d.idempotencyKey);
    if (winner && winner.kind === 'review') return { outcome: 'duplicate', entry: winner };
  }
  throw new Error(`commission ${accrualId}: an entry could be neither booked nor found`);
}

const sameCause = (e: CommissionEntry, eventId: string | null, reason: string) =>
  e.eventId === eventId && e.reason === reason;

/**
 * Approves a pending commission: when its hold has ended by `at`, or at any time when `manual` (approved
 * by hand). Approving an approved commission again is a duplicate.
 */
export function approve(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  opts: { at: string | Date; manual?: boolean },
): Promise<LedgerResult> {
  return transition(db, operatorId, accrualId, (c) => {
    if (c.resolution?.kind === 'approval') return { result: { outcome: 'duplicate', entry: c.resolution } };
    if (c.resolution?.kind === 'rejection') return { result: refused('already_rejected', c.resolution) };
    if (!opts.manual && ms(opts.at) < c.accrual.holdUntil!.getTime())
      return { result: refused('hold_not_elapsed', c.accrual) };
    return {
      book: {
        kind: 'approval',
        status: 'approved',
        amount: c.accrual.amount,
        eventId: null,
        reason: opts.manual ? 'manual' : 'hold_elapsed',
        occurredAt: opts.at,
        idempotencyKey: `resolution/${accrualId}`,
      },
    };
  });
}

export interface Compensation {
  /** A reason code (`chargeback`, ...) or, by hand, the operator's words. */
  reason: string;
  /** When it happened: the compensating event's time. */
  at: string | Date;
  /** The event that undoes the commission; null for a decision made by hand. */
  causeEventId?: string | null;
}

/** Rejects a pending commission. The same rejection again is a duplicate; any other is refused. */
export function reject(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  comp: Compensation,
): Promise<LedgerResult> {
  return transition(db, operatorId, accrualId, (c) => rejectDecision(c, accrualId, comp));
}

function rejectDecision(c: Locked, accrualId: string, comp: Compensation): Decision {
  const cause = comp.causeEventId ?? null;
  if (c.resolution?.kind === 'rejection')
    return sameCause(c.resolution, cause, comp.reason)
      ? { result: { outcome: 'duplicate', entry: c.resolution } }
      : { result: refused('already_rejected', c.resolution) };
  if (c.reversal) return { result: refused('already_reversed', c.reversal) };
  if (c.resolution) return { result: refused('already_approved', c.resolution) };
  return {
    book: {
      kind: 'rejection',
      status: 'rejected',
      amount: c.accrual.amount,
      eventId: cause,
      reason: comp.reason,
      occurredAt: comp.at,
      idempotencyKey: `resolution/${accrualId}`,
    },
  };
}

/**
 * Reverses an approved commission with a negative entry that names it. Refused for a pending or rejected
 * commission, for a second reversal, and after the clawback window unless `manual` (decided by a person
 * reviewing it).
 */
export function reverse(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  comp: Compensation & { manual?: boolean },
): Promise<LedgerResult> {
  return transition(db, operatorId, accrualId, (c) => reverseDecision(c, accrualId, comp));
}

function reverseDecision(c: Locked, accrualId: string, comp: Compensation & { manual?: boolean }): Decision {
  const cause = comp.causeEventId ?? null;
  if (c.reversal)
    return sameCause(c.reversal, cause, comp.reason)
      ? { result: { outcome: 'duplicate', entry: c.reversal } }
      : { result: refused('already_reversed', c.reversal) };
  if (!c.resolution) return { result: refused('not_approved', c.accrual) };
  if (c.resolution.kind === 'rejection') return { result: refused('already_rejected', c.resolution) };
  if (!comp.manual && ms(comp.at) > c.accrual.clawbackUntil!.getTime())
    return { result: refused('outside_clawback_window', c.accrual) };
  return {
    book: {
      kind: 'reversal',
      status: 'reversed',
      amount: neg(c.accrual.amount),
      eventId: cause,
      reason: comp.reason,
      occurredAt: comp.at,
      idempotencyKey: `reversal/${accrualId}`,
    },
  };
}

/**
 * Flags an open commission for a person to decide, moving no money: once per commission and cause (or
 * reason, by hand). Refused for a rejected or reversed commission: there is nothing left to decide.
 */
export function flagForReview(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  comp: Compensation,
): Promise<LedgerResult> {
  return transition(db, operatorId, accrualId, (c) => reviewDecision(c, accrualId, comp));
}

const reviewKey = (accrualId: string, comp: Compensation) =>
  `review/${accrualId}/${comp.causeEventId ?? `manual:${comp.reason}`}`;

function reviewDecision(c: Locked, accrualId: string, comp: Compensation): Decision {
  const own = c.reviews.find((e) => e.idempotencyKey === reviewKey(accrualId, comp));
  if (own) return { result: { outcome: 'duplicate', entry: own } };
  if (c.reversal) return { result: refused('already_reversed', c.reversal) };
  if (c.resolution?.kind === 'rejection') return { result: refused('already_rejected', c.resolution) };
  const cause = comp.causeEventId ?? null;
  return {
    book: {
      kind: 'review',
      status: statusOf(c),
      amount: '0',
      eventId: cause,
      reason: comp.reason,
      occurredAt: comp.at,
      idempotencyKey: reviewKey(accrualId, comp),
    },
  };
}

/**
 * Undoes a commission as its status stands under the lock: rejects it while pending, reverses it once
 * approved within its clawback window, flags it for review after the window. Replays are duplicates of
 * the entry first booked. This is how an activity applies a `compensate` intent: the evaluator's `kind`
 * may be stale if a hold timer approved the commission in between.
 */
export async function compensate(
  db: Queryable,
  operatorId: string,
  accrualId: string,
  comp: Compensation,
): Promise<LedgerResult & { action: 'reject' | 'reverse' | 'review' }> {
  let action: 'reject' | 'reverse' | 'review' = 'reject';
  const result = await transition(db, operatorId, accrualId, (c) => {
    // A replay finds the entry this compensation booked first, whatever happened to the commission since.
    const cause = comp.causeEventId ?? null;
    if (c.resolution?.kind === 'rejection' && sameCause(c.resolution, cause, comp.reason)) action = 'reject';
    else if (c.reversal && sameCause(c.reversal, cause, comp.reason)) action = 'reverse';
    else if (c.reviews.some((e) => e.idempotencyKey === reviewKey(accrualId, comp))) action = 'review';
    else if (
      c.reversal ||
      (c.resolution?.kind === 'approval' && ms(comp.at) <= c.accrual.clawbackUntil!.getTime())
    )
      action = 'reverse';
    else if (c.resolution?.kind === 'approval') action = 'review';
    else action = 'reject';
    return action === 'reverse'
      ? reverseDecision(c, accrualId, comp)
      : action === 'review'
        ? reviewDecision(c, accrualId, comp)
        : rejectDecision(c, accrualId, comp);
  });
  return { ...result, action };
}
