/**
 * What an event undoes: the compensations a change of the customer's facts brings about (fraud, KYC
 * rejection, self-exclusion, duplicate account), a refunded challenge (its purchase and milestones), and a CPA whose conditions no longer
 * hold (chargeback, refund, or a late event for a person to review). Pure and workflow-safe.
 */
import type { CommissionRule } from './deals.js';
import { currentKyc, type CustomerFacts } from './facts.js';
import type { ReasonCode } from './intents.js';
import type { Run } from './evaluation-run.js';
import { cpaQualification } from './qualification.js';

/**
 * The compensations of many commissions at once that a change of the facts brings about, in order: each
 * applies to every open commission (of `rule`, when given).
 */
export function sweeps(
  before: CustomerFacts,
  facts: CustomerFacts,
): { reason: ReasonCode; rule?: CommissionRule }[] {
  const out: { reason: ReasonCode; rule?: CommissionRule }[] = [];
  if (!before.fraudHigh && facts.fraudHigh) out.push({ reason: 'fraud_high' });
  if (currentKyc(before) !== 'rejected' && currentKyc(facts) === 'rejected')
    out.push({ reason: 'kyc_rejected' });
  const wasStatus = before.status?.value;
  const isStatus = facts.status?.value;
  if (wasStatus !== 'self_excluded' && isStatus === 'self_excluded') out.push({ reason: 'self_exclusion' });
  if (wasStatus !== 'duplicate' && isStatus === 'duplicate') out.push({ reason: 'duplicate', rule: 'cpa' });
  return out;
}

export function compensate(run: Run, before: CustomerFacts, facts: CustomerFacts): void {
  const event = run.event;
  for (const { reason, rule } of sweeps(before, facts))
    for (const c of run.commissions.filter((c) => rule === undefined || c.rule === rule))
      run.compensate(c.idempotencyKey, reason);
  if (event.type === 'challenge.refunded') {
    for (const c of run.commissions)
      // The purchase's commission and every milestone of the challenge, each by its own clawback window.
      if ((c.rule === 'challenge' || c.rule === 'milestone') && c.challengeId === event.data.challengeId)
        run.compensate(c.idempotencyKey, 'challenge_refund');
  }
  // A CPA whose conditions held before this event and no longer do: clawed back for a chargeback or a
  // refund; flagged for review when a late, earlier-dated event changed the picture.
  // A CPA the facts cannot judge for a missing rate is left alone: nothing is undone on a guess.
  for (const c of run.commissions) {
    if (c.rule !== 'cpa' || !c.cpaTerms) continue;
    if (!cpaQualification(c.cpaTerms, before, run.fx).qualified) continue;
    const now = cpaQualification(c.cpaTerms, facts, run.fx);
    if (now.qualified || now.shortfall === 'fx_rate_missing') continue;
    if (event.type === 'deposit.chargeback') run.compensate(c.idempotencyKey, 'chargeback');
    else if (event.type === 'deposit.refunded') run.compensate(c.idempotencyKey, 'refund');
    else run.compensate(c.idempotencyKey, 'qualification_changed', true);
  }
}
