/**
 * One evaluation's working set: the customer's commissions as the event changes them and the intents so
 * far. It accrues one commission (once per idempotency key, with its hold and clawback windows) and
 * compensates one (reject, reverse or review, by its status and clawback window). Pure and workflow-safe.
 */
import { parseDuration } from '../duration.js';
import type { FxQuote, FxTable } from '../fx.js';
import { isPositive, type Decimal } from '../money.js';
import type { CommissionRule, Deal } from './deals.js';
import type { CommissionEvent } from './facts.js';
import type { AccrueIntent, AccruedCommission, LedgerIntent, ReasonCode } from './intents.js';

/** `at` plus a duration string, as RFC 3339 UTC. */
export function addDuration(at: string, duration: string): string {
  return new Date(Date.parse(at) + parseDuration(duration)).toISOString();
}

const isOpen = (c: AccruedCommission) => c.status === 'pending' || c.status === 'approved';

/** One evaluation's working set: the commissions as they change, and the intents so far. */
export class Run {
  readonly intents: LedgerIntent[] = [];
  readonly compensated = new Set<string>();
  commissions: AccruedCommission[];

  constructor(
    commissions: AccruedCommission[],
    readonly event: CommissionEvent,
    /** The exchange rates resolved for this evaluation (see src/domain/fx.ts). */
    readonly fx: FxTable = {},
  ) {
    this.commissions = [...commissions];
  }

  has(key: string): boolean {
    return this.commissions.some((c) => c.idempotencyKey === key);
  }

  /**
   * Compensates one commission for this event, if it is still open and this event has not already
   * touched it. `reviewOnly` flags it for a person whatever its status: nothing moves but a flag.
   */
  compensate(idempotencyKey: string, reason: ReasonCode, reviewOnly = false): void {
    const target = this.commissions.find((c) => c.idempotencyKey === idempotencyKey);
    if (!target || !isOpen(target) || this.compensated.has(idempotencyKey)) return;
    const at = this.event.occurredAt;
    const kind = reviewOnly
      ? 'review'
      : target.status === 'pending'
        ? 'reject'
        : Date.parse(at) <= Date.parse(target.clawbackUntil)
          ? 'reverse'
          : 'review';
    this.compensated.add(idempotencyKey);
    this.intents.push({
      type: 'compensate',
      kind,
      reason,
      causeEventId: this.event.id,
      occurredAt: new Date(Date.parse(at)).toISOString(),
      target: { rule: target.rule, idempotencyKey, causeEventId: target.causeEventId },
    });
    if (kind === 'review') return; // a review moves nothing: the commission stays open
    const status = kind === 'reject' ? 'rejected' : 'reversed';
    this.commissions = this.commissions.map((c) =>
      c.idempotencyKey === idempotencyKey ? { ...c, status } : c,
    );
  }

  accrue(
    deal: Deal,
    rule: CommissionRule,
    fields: {
      idempotencyKey: string;
      causeEventId: string;
      customerId: string;
      amount: Decimal;
      currency: string;
      occurredAt: string;
      fx?: FxQuote[];
    },
    extra: Pick<AccruedCommission, 'challengeId' | 'cpaTerms'> = {},
  ): void {
    if (this.has(fields.idempotencyKey) || !isPositive(fields.amount)) return;
    const occurredAt = new Date(Date.parse(fields.occurredAt)).toISOString();
    const { fx, ...rest } = fields;
    const intent: AccrueIntent = {
      type: 'accrue',
      rule,
      model: deal.model,
      ...rest,
      ...(fx?.length ? { fx } : {}),
      occurredAt,
      holdUntil: addDuration(occurredAt, deal.holdPeriod),
      clawbackUntil: addDuration(occurredAt, deal.clawbackWindow),
    };
    this.intents.push(intent);
    this.commissions.push({
      rule,
      model: deal.model,
      idempotencyKey: intent.idempotencyKey,
      causeEventId: intent.causeEventId,
      amount: intent.amount,
      currency: intent.currency,
      occurredAt,
      holdUntil: intent.holdUntil,
      clawbackUntil: intent.clawbackUntil,
      status: 'pending',
      ...extra,
    });
  }
}
