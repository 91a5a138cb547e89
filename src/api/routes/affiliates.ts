import type { Client } from '@temporalio/client';
import {
  balances,
  findAffiliate,
  getCommission,
  listCommissions,
  upsertAffiliate,
  type Affiliate,
  type Commission,
} from '../../db/ledger.js';
import type { Pool } from '../../db/pool.js';
import type { Deal } from '../../domain/commission/deals.js';
import { approveCommission, rejectCommission } from '../../temporal/customer-signals.js';
import { boundedWait } from '../../temporal/timeout.js';
import type { CommissionDecisionView } from '../../../workflows/definitions.js';
import { decodeCursor, page } from '../cursor.js';
import { AppError, errors } from '../errors.js';
import { defineRoute } from '../route.js';
import {
  AffiliateIn,
  AffiliateOut,
  AffiliateParams,
  BalanceOut,
  CommissionOut,
  CommissionParams,
  ListCommissionsQuery,
  RejectIn,
} from '../schemas/affiliates.js';
import { ErrorOut } from '../schemas/common.js';

export function toAffiliateOut(a: Affiliate) {
  return {
    affiliateId: a.affiliateId,
    name: a.name,
    status: a.status,
    deal: a.deal as unknown as Record<string, unknown>,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function toCommissionOut(c: Commission) {
  return {
    id: c.id,
    affiliateId: c.affiliateId,
    customerId: c.customerId,
    eventId: c.eventId,
    model: c.model,
    rule: c.rule,
    amount: c.amount,
    currency: c.currency,
    status: c.status,
    holdUntil: c.holdUntil?.toISOString() ?? null,
    clawbackUntil: c.clawbackUntil?.toISOString() ?? null,
    reversalOf: c.reversalOf,
    reason: c.reason,
    reviews: c.reviews,
    createdAt: c.createdAt.toISOString(),
  };
}

/** How long a decision by hand may take before the caller gets 503 (it still happens: retry to see it). */
const DECISION_TIMEOUT_MS = 15_000;

export function affiliateRoutes(deps: { pool: Pool; client: () => Promise<Client>; taskQueue: string }) {
  const mustFindAffiliate = async (operatorId: string, affiliateId: string) => {
    const a = await findAffiliate(deps.pool, operatorId, affiliateId);
    if (!a) throw errors.notFound(`Affiliate ${affiliateId}`);
    return a;
  };
  const notFound = (what: string) => ({ description: `No such ${what} for this operator`, schema: ErrorOut });

  /** Runs a decision through the customer's workflow, so it takes its turn with the customer's events. */
  const decide = async (
    operatorId: string,
    id: string,
    run: (client: Client, target: Parameters<typeof approveCommission>[1]) => Promise<CommissionDecisionView>,
  ) => {
    const c = await getCommission(deps.pool, operatorId, id);
    if (!c) throw errors.notFound(`Commission ${id}`);
    if (c.reversalOf) {
      throw new AppError(409, 'commission_not_pending', 'A reversal entry cannot be approved or rejected.');
    }
    let view: CommissionDecisionView;
    try {
      const client = await deps.client();
      view = await boundedWait(
        run(client, {
          operatorId,
          customerId: c.customerId,
          taskQueue: deps.taskQueue,
          affiliateId: c.affiliateId,
        }),
        DECISION_TIMEOUT_MS,
        'the decision',
      );
    } catch {
      throw errors.unavailable('temporal');
    }
    const after = (await getCommission(deps.pool, operatorId, id))!;
    if (view.outcome === 'refused') {
      throw new AppError(
        409,
        'commission_not_pending',
        `The commission is ${after.status}: it can no longer be ${view.refusal === 'hold_not_elapsed' ? 'approved yet' : 'decided'}.`,
      );
    }
    return { status: 200, body: toCommissionOut(after) };
  };

  return [
    defineRoute({
      method: 'put',
      path: '/v1/affiliates/{affiliateId}',
      summary: 'Create or replace an affiliate and its deal (booked commissions keep their terms)',
      auth: 'operator',
      params: AffiliateParams,
      body: AffiliateIn,
      responses: {
        200: { description: 'Replaced', schema: AffiliateOut },
        201: { description: 'Created', schema: AffiliateOut },
        422: { description: 'Invalid deal', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        const { affiliate, created } = await upsertAffiliate(deps.pool, operator.id, params.affiliateId, {
          name: body.name,
          status: body.status,
          deal: body.deal as Deal,
        });
        return { status: created ? 201 : 200, body: toAffiliateOut(affiliate) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/affiliates/{affiliateId}',
      summary: 'An affiliate and its deal',
      auth: 'operator',
      params: AffiliateParams,
      responses: { 200: { description: 'The affiliate', schema: AffiliateOut }, 404: notFound('affiliate') },
      handler: async ({ params, operator }) => ({
        status: 200,
        body: toAffiliateOut(await mustFindAffiliate(operator.id, params.affiliateId)),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/affiliates/{affiliateId}/commissions',
      summary: "An affiliate's commissions, newest first; reversals are entries of their own",
      auth: 'operator',
      params: AffiliateParams,
      query: ListCommissionsQuery,
      responses: { 200: { description: '{data, nextCursor}' }, 404: notFound('affiliate') },
      handler: async ({ params, query, operator }) => {
        await mustFindAffiliate(operator.id, params.affiliateId);
        const rows = await listCommissions(deps.pool, operator.id, params.affiliateId, {
          status: query.status,
          limit: query.limit + 1,
          cursor: decodeCursor(query.cursor),
        });
        return { status: 200, body: page(rows, query.limit, toCommissionOut) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/affiliates/{affiliateId}/balance',
      summary: "An affiliate's balances per currency, summed from the ledger entries",
      auth: 'operator',
      params: AffiliateParams,
      responses: { 200: { description: 'Balances', schema: BalanceOut }, 404: notFound('affiliate') },
      handler: async ({ params, operator }) => {
        await mustFindAffiliate(operator.id, params.affiliateId);
        return {
          status: 200,
          body: {
            affiliateId: params.affiliateId,
            balances: await balances(deps.pool, operator.id, params.affiliateId),
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/commissions/{id}',
      summary: 'One commission (or reversal entry) with its current status',
      auth: 'operator',
      params: CommissionParams,
      responses: {
        200: { description: 'The commission', schema: CommissionOut },
        404: notFound('commission'),
      },
      handler: async ({ params, operator }) => {
        const c = await getCommission(deps.pool, operator.id, params.id);
        if (!c) throw errors.notFound(`Commission ${params.id}`);
        return { status: 200, body: toCommissionOut(c) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/commissions/{id}/approve',
      summary: 'Approve a pending commission now, before its hold ends',
      auth: 'operator',
      params: CommissionParams,
      responses: {
        200: { description: 'Approved (or already approved)', schema: CommissionOut },
        404: notFound('commission'),
        409: { description: 'Rejected or reversed already', schema: ErrorOut },
        503: { description: 'Temporal unreachable; retry', schema: ErrorOut },
      },
      handler: ({ params, operator }) =>
        decide(operator.id, params.id, (client, target) => approveCommission(client, target, params.id)),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/commissions/{id}/reject',
      summary: 'Reject a pending commission, with the reason the affiliate sees',
      auth: 'operator',
      params: CommissionParams,
      body: RejectIn,
      responses: {
        200: { description: 'Rejected (or already rejected for this reason)', schema: CommissionOut },
        404: notFound('commission'),
        409: { description: 'Approved, rejected or reversed already', schema: ErrorOut },
        422: { description: 'No reason given', schema: ErrorOut },
        503: { description: 'Temporal unreachable; retry', schema: ErrorOut },
      },
      handler: ({ params, body, operator }) =>
        decide(operator.id, params.id, (client, target) =>
          rejectCommission(client, target, params.id, body.reason),
        ),
    }),
  ];
}
