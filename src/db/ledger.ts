import type { CommissionRule, Deal, DealModel } from '../domain/commission/deals.js';
import type { CommissionStatus } from '../domain/commission/evaluate.js';
import { compare, format, neg, type Decimal } from '../domain/money.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';
import { afterCursor, NEWEST_FIRST } from './keyset.js';

/**
 * Repository of affiliates and of the commission ledger (migration 004). Every function takes a
 * `Queryable`, so an activity runs it inside its own transaction with the rest of its writes.
 *
 * The ledger is append-only. A state change is a new entry whose idempotency key is derived from the
 * accrual it acts on (`resolution/<id>` for an approval or a rejection, so they exclude each other;
 * `reversal/<id>`; `review/<id>/<cause>`), so a replayed call finds its own entry and books nothing.
 * Expected refusals (approving a rejected commission, reversing a pending one, a second reversal) come
 * back as `{outcome: 'refused'}`; only faults throw.
 *
 * Transitions lock the accrual row (`SELECT ... FOR UPDATE`), so two compensations of one commission
 * serialise: run them in a transaction at READ COMMITTED (the default; `withTransaction`). Without one,
 * the unique indexes still let only one of two racing entries in, and the loser reports what won.
 */

export type AffiliateStatus = 'active' | 'suspended';

export interface Affiliate {
  operatorId: string;
  affiliateId: string;
  name: string;
  status: AffiliateStatus;
  deal: Deal;
  createdAt: Date;
  updatedAt: Date;
}

interface AffiliateRow {
  operator_id: string;
  affiliate_id: string;
  name: string;
  status: AffiliateStatus;
  deal: Deal;
  created_at: Date;
  updated_at: Date;
}

function affiliateFromRow(r: AffiliateRow): Affiliate {
  return {
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    name: r.name,
    status: r.status,
    deal: r.deal,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Creates or replaces an affiliate and its deal (`PUT /v1/affiliates/{id}`). Booked commissions keep their terms. */
export async function upsertAffiliate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  fields: { name: string; status: AffiliateStatus; deal: Deal },
): Promise<{ affiliate: Affiliate; created: boolean }> {
  const { rows } = await db.query<AffiliateRow & { created: boolean }>(
    `INSERT INTO affiliates (operator_id, affiliate_id, name, status, deal)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (operator_id, affiliate_id) DO UPDATE
       SET name = EXCLUDED.name, status = EXCLUDED.status, deal = EXCLUDED.deal, updated_at = now()
     RETURNING *, (xmax = 0) AS created`,
    [operatorId, affiliateId, fields.name, fields.status, JSON.stringify(fields.deal)],
  );
  const row = rows[0]!;
  return { affiliate: affiliateFromRow(row), created: row.created };
}

export async function findAffiliate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
): Promise<Affiliate | null> {
  const { rows } = await db.query<AffiliateRow>(
    'SELECT * FROM affiliates WHERE operator_id = $1 AND affiliate_id = $2',
    [operatorId, affiliateId],
  );
  return rows[0] ? affiliateFromRow(rows[0]) : null;
}

export type EntryKind = 'accrual' | 'approval' | 'rejection' | 'reversal' | 'review';

/** One ledger entry, as booked. */
export interface CommissionEntry {
  id: string;
  /** Total order of booking. */
  seq: string;
  operatorId: string;
  affiliateId: string;
  customerId: string;
  /** The event that caused it; null for approvals and decisions made by hand. */
  eventId: string | null;
  rule: CommissionRule;
  model: DealModel;
  kind: EntryKind;
  /** At least the currency's minor digits: `"50.00"`; negative for a reversal, zero for a review. */
  amount: Decimal;
  currency: string;
  /** The commission's status this entry brought about. */
  status: CommissionStatus;
  occurredAt: Date;
  holdUntil: Date | null;
  clawbackUntil: Date | null;
  reversalOf: string | null;
  relatedEntry: string | null;
  reason: string | null;
  idempotencyKey: string;
  createdAt: Date;
}

interface EntryRow {
  seq: string;
  id: string;
  operator_id: string;
  affiliate_id: string;
  customer_id: string;
  event_id: string | null;
  rule: CommissionRule;
  model: DealModel;
  kind: EntryKind;
  amount: string;
  currency: string;
  status: CommissionStatus;
  occurred_at: Date;
  hold_until: Date | null;
  clawback_until: Date | null;
  reversal_of: string | null;
  related_entry: string | null;
  reason: string | null;
  idempotency_key: string;
  created_at: Date;
}

function entryFromRow(r: EntryRow): CommissionEntry {
  return {
    id: r.id,
    seq: r.seq,
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    customerId: r.customer_id,
    eventId: r.event_id,
    rule: r.rule,
    model: r.model,
    kind: r.kind,
    amount: format(r.amount, r.currency),
    currency: r.currency,
    status: r.status,
    occurredAt: r.occurred_at,
    holdUntil: r.hold_until,
    clawbackUntil: r.clawback_until,
    reversalOf: r.reversal_of,
    relatedEntry: r.related_entry,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    createdAt: r.created_at,
  };
}

export type LedgerRefusal =
  | 'not_found'
  | 'affiliate_not_found'
  | 'affiliate_suspended'
  /** The key is taken by an entry with other contents, or another key already pays this cause and rule. */
  | 'idempotency_conflict'
  | 'already_approved'
  | 'already_rejected'
  | 'already_reversed'
  | 'not_approved'
  | 'hold_not_elapsed'
  | 'outside_clawback_window';

/**
 * `booked`: this call added `entry`. `duplicate`: an earlier call with the same intent did; `entry` is
 * that one. `refused`: illegal or impossible; `entry` is the one in the way, if any.
 */
export type LedgerResult =
  | { outcome: 'booked'; entry: CommissionEntry }
  | { outcome: 'duplicate'; entry: CommissionEntry }
  | { outcome: 'refused'; refusal: LedgerRefusal; entry: CommissionEntry | null };

const refused = (refusal: LedgerRefusal, entry: CommissionEntry | null = null): LedgerResult => ({
  outcome: 'refused',
  refusal,
  entry,
});

/** An accrual to book: the evaluator's accrue intent plus the tenant and the affiliate. */
export interface NewAccrual {
  operatorId: string;
  affiliateId: string;
  customerId: string;
  causeEventId: string;
  rule: CommissionRule;
  model: DealModel;
  /** Positive, in the currency's minor unit. */
  amount: Decimal;
  currency: string;
  occurredAt: string | Date;
  holdUntil: string | Date;
  clawbackUntil: string | Date;
  idempotencyKey: string;
}

const ms = (t: string | Date) => new Date(t).getTime();

/**
 * Books an accrual, pending until its hold ends. A replay with the same key and contents is a
 * `duplicate`; the same key with other contents is refused. A suspended affiliate accrues nothing.
 */
export async function bookAccrual(db: Queryable, a: NewAccrual): Promise<LedgerResult> {
  const { rows } = await db.query<EntryRow>(
    `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind, amount,
                                     currency, status, occurred_at, hold_until, clawback_until, idempotency_key)
     SELECT $1, $2, $3, $4, $5, $6, $7, 'accrual', $8, $9, 'pending', $10, $11, $12, $13
      WHERE EXISTS (SELECT 1 FROM affiliates WHERE operator_id = $2 AND affiliate_id = $3 AND status = 'active')
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      newId('commission'),
      a.operatorId,
      a.affiliateId,
      a.customerId,
      a.causeEventId,
      a.rule,
      a.model,
      a.amount,
      a.currency,
      a.occurredAt,
      a.holdUntil,
      a.clawbackUntil,
      a.idempotencyKey,
    ],
  );
  if (rows[0]) return { outcome: 'booked', entry: entryFromRow(rows[0]) };

  const existing = await findEntryByKey(db, a.operatorId, a.idempotencyKey);
  if (existing) {
    const same =
      existing.kind === 'accrual' &&
      existing.affiliateId === a.affiliateId &&
      existing.customerId === a.customerId &&
      existing.eventId === a.causeEventId &&
      existing.rule === a.rule &&
      existing.model === a.model &&
      existing.currency === a.currency &&
      compare(existing.amount, a.amount) === 0 &&
      existing.holdUntil?.getTime() === ms(a.holdUntil) &&
      existing.clawbackUntil?.getTime() === ms(a.clawbackUntil);
    return same ? { outcome: 'duplicate', entry: existing } : refused('idempotency_conflict', existing);
  }
  const affiliate = await findAffiliate(db, a.operatorId, a.affiliateId);
  if (!affiliate) return refused('affiliate_not_found');
  if (affiliate.status !== 'active') return refused('affiliate_suspended');
  const { rows: taken } = await db.query<EntryRow>(
    `SELECT * FROM commission_entries
      WHERE operator_id = $1 AND event_id = $2 AND rule = $3 AND kind = 'accrual'`,
    [a.operatorId, a.causeEventId, a.rule],
  );
  return refused('idempotency_conflict', taken[0] ? entryFromRow(taken[0]) : null);
}

/** The entry booked under a key, if any: how an activity finds the accrual an intent names. */
export async function findEntryByKey(
  db: Queryable,
  operatorId: string,
  idempotencyKey: string,
): Promise<CommissionEntry | null> {
  const { rows } = await db.query<EntryRow>(
    'SELECT * FROM commission_entries WHERE operator_id = $1 AND idempotency_key = $2',
    [operatorId, idempotencyKey],
  );
  return rows[0] ? entryFromRow(rows[0]) : null;
}

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

/** A commission as the API lists it: an accrual with its current status, or a reversal entry. */
export interface Commission {
  id: string;
  operatorId: string;
  affiliateId: string;
  customerId: string;
  eventId: string | null;
  rule: CommissionRule;
  model: DealModel;
  amount: Decimal;
  currency: string;
  status: CommissionStatus;
  holdUntil: Date | null;
  clawbackUntil: Date | null;
  reversalOf: string | null;
  /** Why it was rejected or reversed (for a reversal entry: why it was made). */
  reason: string | null;
  idempotencyKey: string;
  occurredAt: Date;
  resolvedAt: Date | null;
  reversedAt: Date | null;
  /** How many times it was flagged for review. */
  reviews: number;
  createdAt: Date;
}

interface CommissionRow {
  id: string;
  operator_id: string;
  affiliate_id: string;
  customer_id: string;
  event_id: string | null;
  rule: CommissionRule;
  model: DealModel;
  amount: string;
  currency: string;
  status: CommissionStatus;
  hold_until: Date | null;
  clawback_until: Date | null;
  reversal_of: string | null;
  reason: string | null;
  idempotency_key: string;
  occurred_at: Date;
  resolved_at: Date | null;
  reversed_at: Date | null;
  reviews: number;
  created_at: Date;
}

function commissionFromRow(r: CommissionRow): Commission {
  return {
    id: r.id,
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    customerId: r.customer_id,
    eventId: r.event_id,
    rule: r.rule,
    model: r.model,
    amount: format(r.amount, r.currency),
    currency: r.currency,
    status: r.status,
    holdUntil: r.hold_until,
    clawbackUntil: r.clawback_until,
    reversalOf: r.reversal_of,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    occurredAt: r.occurred_at,
    resolvedAt: r.resolved_at,
    reversedAt: r.reversed_at,
    reviews: r.reviews,
    createdAt: r.created_at,
  };
}

/**
 * An affiliate's commissions, newest first, keyset-paginated on (created_at, id) like every list: pass
 * `limit + 1` to learn whether there is a next page. `status` filters on the current status; reversal
 * entries count as `reversed`.
 */
export async function listCommissions(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  opts: {
    status?: CommissionStatus | undefined;
    limit: number;
    cursor?: { createdAt: string; id: string } | null;
  },
): Promise<Commission[]> {
  const { rows } = await db.query<CommissionRow>(
    `SELECT * FROM commissions
      WHERE operator_id = $1 AND affiliate_id = $2
        AND ($3::text IS NULL OR status = $3)
        AND ${afterCursor(4, 5)}
      ${NEWEST_FIRST}
      LIMIT $6`,
    [
      operatorId,
      affiliateId,
      opts.status ?? null,
      opts.cursor?.createdAt ?? null,
      opts.cursor?.id ?? null,
      opts.limit,
    ],
  );
  return rows.map(commissionFromRow);
}

/** One commission (an accrual or a reversal entry) by id, with its current status. */
export async function getCommission(
  db: Queryable,
  operatorId: string,
  id: string,
): Promise<Commission | null> {
  const { rows } = await db.query<CommissionRow>(
    'SELECT * FROM commissions WHERE operator_id = $1 AND id = $2',
    [operatorId, id],
  );
  return rows[0] ? commissionFromRow(rows[0]) : null;
}

/** The commissions an event caused (accrued or reversed) or undid (rejected, flagged), for `GET /v1/events/{id}`. */
export async function commissionsOfEvent(
  db: Queryable,
  operatorId: string,
  eventId: string,
): Promise<Commission[]> {
  const { rows } = await db.query<CommissionRow>(
    `SELECT * FROM commissions
      WHERE operator_id = $1
        AND (event_id = $2
             -- a commission this event rejected or flagged: the entry that did it names the accrual
             OR id IN (SELECT related_entry FROM commission_entries
                        WHERE operator_id = $1 AND event_id = $2 AND kind IN ('rejection', 'review')))
      ORDER BY created_at, id`,
    [operatorId, eventId],
  );
  return rows.map(commissionFromRow);
}

/** Every entry of an affiliate in booking order: the audit trail balances are derived from. */
export async function listEntries(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
): Promise<CommissionEntry[]> {
  const { rows } = await db.query<EntryRow>(
    'SELECT * FROM commission_entries WHERE operator_id = $1 AND affiliate_id = $2 ORDER BY seq',
    [operatorId, affiliateId],
  );
  return rows.map(entryFromRow);
}

export interface Balance {
  currency: string;
  /** Accrued and neither approved nor rejected yet. */
  pending: Decimal;
  /** Ever approved, including what was later reversed. */
  approved: Decimal;
  /** Clawed back: the sum of reversal entries, zero or negative. What is owed is `approved + reversed`. */
  reversed: Decimal;
}

/** An affiliate's balances per currency, summed from the entries alone (see the migration's bucket table). */
export async function balances(db: Queryable, operatorId: string, affiliateId: string): Promise<Balance[]> {
  const { rows } = await db.query<{ currency: string; pending: string; approved: string; reversed: string }>(
    `SELECT currency,
            COALESCE(sum(CASE kind WHEN 'accrual' THEN amount
                                   WHEN 'approval' THEN -amount
                                   WHEN 'rejection' THEN -amount END), 0) AS pending,
            COALESCE(sum(amount) FILTER (WHERE kind = 'approval'), 0) AS approved,
            COALESCE(sum(amount) FILTER (WHERE kind = 'reversal'), 0) AS reversed
       FROM commission_entries
      WHERE operator_id = $1 AND affiliate_id = $2
      GROUP BY currency
      ORDER BY currency`,
    [operatorId, affiliateId],
  );
  return rows.map((r) => ({
    currency: r.currency,
    pending: format(r.pending, r.currency),
    approved: format(r.approved, r.currency),
    reversed: format(r.reversed, r.currency),
  }));
}
