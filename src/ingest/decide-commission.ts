import type { Client } from '@temporalio/client';
import { getCommission, type Commission } from '../db/ledger.js';
import type { Pool } from '../db/pool.js';
import { AppError, errors } from '../errors.js';
import { approveCommission, rejectCommission } from '../temporal/customer-signals.js';
import { boundedWait } from '../temporal/timeout.js';

/** How long a decision by hand may take before the caller gets 503 (it still happens: retry to see it). */
const DECISION_TIMEOUT_MS = 15_000;

export interface DecisionDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
}

export type Decision = { kind: 'approve' } | { kind: 'reject'; reason: string };

/**
 * Approves or rejects a pending commission by hand. The decision runs through the customer's workflow (an
 * update, starting it if need be), so it takes its turn with the customer's events; answers the commission
 * as it stands after. One rule for both (README, API table; OpenAPI): the decision the commission already has
 * answers it unchanged (approved, or approved and since reversed, for approve; rejected for whatever reason
 * for reject: the first reason stays); the other decision, or any on a reversal entry, is
 * 409 `commission_not_pending`. 404 for no such commission, 503 when Temporal does not answer in time.
 */
export async function decideCommission(
  deps: DecisionDeps,
  operatorId: string,
  id: string,
  decision: Decision,
): Promise<Commission> {
  const c = await getCommission(deps.pool, operatorId, id);
  if (!c) throw errors.notFound(`Commission ${id}`);
  if (c.reversalOf) {
    throw new AppError(409, 'commission_not_pending', 'A reversal entry cannot be approved or rejected.');
  }
  const target = {
    operatorId,
    customerId: c.customerId,
    taskQueue: deps.taskQueue,
    affiliateId: c.affiliateId,
  };
  let view;
  try {
    const client = await deps.client();
    view = await boundedWait(
      decision.kind === 'approve'
        ? approveCommission(client, target, id)
        : rejectCommission(client, target, id, decision.reason),
      DECISION_TIMEOUT_MS,
      'the decision',
    );
  } catch {
    throw errors.unavailable('temporal');
  }
  const after = (await getCommission(deps.pool, operatorId, id))!;
  // Rejected already, by hand for other words or by a chargeback: the same decision, so no conflict.
  const sameDecision = decision.kind === 'reject' && view.refusal === 'already_rejected';
  if (view.outcome === 'refused' && !sameDecision) {
    throw new AppError(
      409,
      'commission_not_pending',
      `The commission is ${after.status}: it can no longer be ${view.refusal === 'hold_not_elapsed' ? 'approved yet' : 'decided'}.`,
    );
  }
  return after;
}
