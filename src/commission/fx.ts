import { resolveRates } from '../db/fx-rates.js';
import type { Queryable } from '../db/pool.js';
import type { Deal } from '../domain/commission/deals.js';
import type { Explanation } from '../domain/commission/explain.js';
import type { CommissionEvent } from '../domain/commission/facts.js';
import { ratesNeededFor } from '../domain/commission/fx-needs.js';
import type { CommissionState } from '../domain/commission/intents.js';
import { fxKey, pairName, type FxNeed, type FxTable } from '../domain/fx.js';

/**
 * The exchange rates of one event's settlement: resolved before the evaluation (so it stays pure), and
 * the pairs an event waits for when its CPA could not be judged for want of one (`fx_rate_missing`).
 */

/** The rates the evaluation of `event` may use, as the operator has them now (see `resolveRates`). */
export async function ratesFor(
  tx: Queryable,
  operatorId: string,
  input: { deal: Deal | null; state: CommissionState; event: CommissionEvent; lookbackDays: number },
): Promise<{ needs: FxNeed[]; fx: FxTable }> {
  const needs = ratesNeededFor(input.deal, input.state, input.event);
  return { needs, fx: await resolveRates(tx, operatorId, needs, input.lookbackDays) };
}

/**
 * Events folded again once a rate arrives: their evaluation waits for it. Not those that move a RevShare
 * account by themselves (`revenue.daily`, `deposit.chargeback`): folding one twice would move it twice.
 * The CPA they cannot judge is judged again with the customer's deposit events, which are folded again.
 */
const REFOLDED_FOR_RATES: ReadonlySet<string> = new Set([
  'customer.registered',
  'customer.kyc_changed',
  'customer.status_changed',
  'customer.fraud_flagged',
  'deposit.completed',
  'deposit.refunded',
  'wagering.completed',
]);

/** The rate pairs (`EUR/USD`) the event waits for, or null when it waits for none (or is not refolded). */
export function pairsAwaited(
  type: string,
  evaluation: readonly Explanation[],
  needs: readonly FxNeed[],
  fx: FxTable,
): string[] | null {
  if (!REFOLDED_FOR_RATES.has(type) || !evaluation.some((e) => e.reason === 'fx_rate_missing')) return null;
  const pairs = new Set(needs.filter((n) => !fx[fxKey(n.from, n.to, n.on)]).map(pairName));
  return pairs.size ? [...pairs] : null;
}
