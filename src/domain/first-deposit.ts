/**
 * The first-time deposit (FTD) claim: a customer's first `deposit.completed` is its FTD, delivered a second
 * time as `deposit.ftd`. Pure rule; the transaction that applies an event (activities/apply-event.ts) holds
 * the customer's row lock around it, so of two racing first deposits exactly one claims the FTD.
 */

/** What a claimed FTD records on the customer. */
export interface FtdClaim {
  eventId: string;
  depositId: unknown;
  amount: unknown;
  currency: unknown;
  at: Date;
}

export interface FtdDecision {
  /** This event is the customer's FTD (now, or as recorded by an earlier application of it). */
  ftd: boolean;
  /** Record this claim on the customer: the customer had no FTD and this deposit is it. */
  claim: FtdClaim | null;
}

/**
 * Whether the event is its customer's FTD, given the FTD the customer has recorded (`null`: none yet). A
 * deposit re-applied after it claimed the FTD is still the FTD; any other deposit after it is not.
 */
export function decideFirstDeposit(
  event: { eventId: string; type: string; occurredAt: Date; data: Record<string, unknown> },
  customerFtdEventId: string | null,
): FtdDecision {
  if (event.type !== 'deposit.completed') return { ftd: false, claim: null };
  if (customerFtdEventId !== null) return { ftd: customerFtdEventId === event.eventId, claim: null };
  const { depositId, amount, currency } = event.data;
  return {
    ftd: true,
    claim: { eventId: event.eventId, depositId, amount, currency, at: event.occurredAt },
  };
}
