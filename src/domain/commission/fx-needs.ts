/**
 * Which exchange rates an evaluation may need, so the settlement can resolve them before it evaluates and
 * the evaluator stays pure: the customer's deposits (the event's included) in each currency a CPA judges
 * them in, the current deal's and the kept CPA's (whose terms judge a later chargeback). Pure and
 * workflow-safe.
 */
import { ratesNeeded, type FxNeed } from '../fx.js';
import { cpaTermsOf, type Deal } from './deals.js';
import { applyEvent, type CommissionEvent } from './facts.js';
import type { CommissionState } from './intents.js';

/** The rates `evaluate` may look up for this event on top of `state` under `deal`. */
export function ratesNeededFor(deal: Deal | null, state: CommissionState, event: CommissionEvent): FxNeed[] {
  const currencies = new Set<string>();
  const terms = deal ? cpaTermsOf(deal) : null;
  if (terms) currencies.add(terms.currency);
  for (const c of state.commissions) if (c.cpaTerms) currencies.add(c.cpaTerms.currency);
  if (!currencies.size) return [];
  const facts = applyEvent(state.facts, event);
  const amounts = facts.deposits.map((d) => ({ currency: d.currency, at: d.occurredAt }));
  return [...currencies].flatMap((to) => ratesNeeded(amounts, to));
}
