/**
 * The commission evaluator's vocabulary: what it remembers of a customer's commissions (`CommissionState`),
 * the ledger intents it hands out, why a commission is compensated, and the idempotency keys that name the
 * business fact each rule pays for at most once:
 *
 * | rule      | key                                    | paid once per                                 |
 * |-----------|----------------------------------------|-----------------------------------------------|
 * | cpa       | `cpa/<customerId>`                     | customer                                      |
 * | revshare  | `revshare/<eventId>`                   | revenue event                                 |
 * | lot       | `lot/<accountId>/<tradeId>`            | closed trade                                  |
 * | lot       | `lot-day/<accountId>/<date>/<eventId>` | figure sent for a day                         |
 * | challenge | `challenge/<challengeId>`              | challenge                                     |
 * | milestone | `milestone/<challengeId>/<m>`          | challenge and milestone (`phase-2`, `funded`) |
 *
 * (`/` cannot occur in an operator's ids, so the parts never run together.) A day of volume is paid once
 * by its figure: a correction under a new event id accrues only what it adds above what the day was paid
 * (volume-day.ts), so its key names the event. Pure and workflow-safe.
 */
import type { FxQuote } from '../fx.js';
import type { Decimal } from '../money.js';
import type { CommissionRule, CpaTerms, DealModel, MilestoneTrigger } from './deals.js';
import type { CustomerFacts } from './facts.js';

/** Why a commission is compensated; shown to the affiliate. */
export const REASON_CODES = [
  'chargeback',
  'refund',
  'fraud_high',
  'kyc_rejected',
  'self_exclusion',
  'challenge_refund',
  /** The customer was marked a duplicate account: the CPA is not payable. */
  'duplicate',
  /** A late, earlier-dated event means the CPA's conditions no longer hold: a person should look. */
  'qualification_changed',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export type CommissionStatus = 'pending' | 'approved' | 'rejected' | 'reversed';

/** What the evaluator remembers of a commission it asked to accrue. */
export interface AccruedCommission {
  rule: CommissionRule;
  model: DealModel;
  idempotencyKey: string;
  causeEventId: string;
  amount: Decimal;
  currency: string;
  occurredAt: string;
  holdUntil: string;
  clawbackUntil: string;
  /** As far as the evaluator knows: its own compensations, and approvals reported by `withStatus`. */
  status: CommissionStatus;
  /** The challenge a `challenge` or `milestone` commission pays for. */
  challengeId?: string;
  /** The terms a CPA was earned under, so a later chargeback is judged by them, not by a newer deal. */
  cpaTerms?: CpaTerms;
}

/** The evaluator's state for one customer: kept by the caller (the customer's entity workflow). */
export interface CommissionState {
  facts: CustomerFacts;
  commissions: AccruedCommission[];
  /** Event ids evaluated, so a replayed event changes nothing. */
  seenEventIds: string[];
}

export interface AccrueIntent {
  type: 'accrue';
  rule: CommissionRule;
  model: DealModel;
  idempotencyKey: string;
  /** The event that earned it: for a CPA, the one that completed the qualification. */
  causeEventId: string;
  customerId: string;
  /** Rounded to the currency's minor unit; always positive. */
  amount: Decimal;
  currency: string;
  occurredAt: string;
  holdUntil: string;
  clawbackUntil: string;
  /** The exchange rates the commission was judged or computed with; absent when none was needed. */
  fx?: FxQuote[];
}

export interface CompensateIntent {
  type: 'compensate';
  /**
   * `reject` while pending; `reverse` once approved, within the clawback window; `review` after it, or
   * whatever the status for `qualification_changed`. Apply `review` with the ledger's `flagForReview`
   * (it must not reject a pending commission), and `reject` or `reverse` with its `compensate`, which
   * makes the choice again under the row lock in case a hold timer approved the commission meanwhile.
   */
  kind: 'reject' | 'reverse' | 'review';
  reason: ReasonCode;
  /** The event that undoes the commission. */
  causeEventId: string;
  occurredAt: string;
  target: { rule: CommissionRule; idempotencyKey: string; causeEventId: string };
}

export type LedgerIntent = AccrueIntent | CompensateIntent;

export const idempotencyKeys = {
  cpa: (customerId: string) => `cpa/${customerId}`,
  revshare: (eventId: string) => `revshare/${eventId}`,
  lot: (accountId: string, tradeId: string) => `lot/${accountId}/${tradeId}`,
  lotDay: (accountId: string, date: string, eventId: string) => `lot-day/${accountId}/${date}/${eventId}`,
  challenge: (challengeId: string) => `challenge/${challengeId}`,
  milestone: (challengeId: string, m: MilestoneTrigger) =>
    `milestone/${challengeId}/${m.on === 'funded' ? 'funded' : `phase-${m.phase}`}`,
  /** The start every milestone key of a challenge shares. */
  milestonesOf: (challengeId: string) => `milestone/${challengeId}/`,
};

/** The challenge a `challenge` or `milestone` key pays for, and the milestone (`phase 2`, `funded`). */
export function challengeOfKey(key: string): { challengeId: string; milestone: string | null } | null {
  const [rule, challengeId, m] = key.split('/');
  if (!challengeId || (rule !== 'challenge' && rule !== 'milestone')) return null;
  return { challengeId, milestone: m ? m.replace('-', ' ') : null };
}
