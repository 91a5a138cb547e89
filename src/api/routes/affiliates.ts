import { balances, findAffiliate, getCommission, listCommissions } from '../../db/ledger.js';
import type { Deal } from '../../domain/commission/deals.js';
import { decideCommission, type Decision, type DecisionDeps } from '../../ingest/decide-commission.js';
import { putAffiliate } from '../../ingest/put-affiliate.js';
import { listAffiliates } from '../../db/affiliates.js';
import { decodeCursor, page } from '../cursor.js';
import { errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import {
  AffiliateIn,
  AffiliateOut,
  AffiliateParams,
  BalanceOut,
  CommissionOut,
  CommissionParams,
  ListAffiliatesQuery,
  ListCommissionsQuery,
  RejectIn,
  toAffiliateOut,
  toCommissionOut,
} from '../schemas/affiliates.js';
import { ErrorOut } from '../../contract/common.js';

const notFound = (what: string) => ({ description: `No such ${what} for this operator`, schema: ErrorOut });

export function affiliateRoutes(deps: DecisionDeps & { startTimeoutMs?: number }) {
  return [...affiliateOnlyRoutes(deps), ...commissionRoutes(deps)];
}

function affiliateOnlyRoutes(deps: DecisionDeps & { startTimeoutMs?: number }) {
  const mustFindAffiliate = async (operatorId: string, affiliateId: string) => {
    const a = await findAffiliate(deps.pool, operatorId, affiliateId);
    if (!a) throw errors.notFound(`Affiliate ${affiliateId}`);
    return a;
  };

  return [
    defineRoute({
      method: 'get',
      path: '/v1/affiliates',
      summary: "The operator's affiliates with their deals, newest first (`?status=` active or suspended)",
      auth: 'operator',
      query: ListAffiliatesQuery,
      responses: { 200: { description: '{data, nextCursor} of AffiliateOut' } },
      handler: async ({ query, operator }) => {
        const rows = await listAffiliates(
          deps.pool,
          operator.id,
          { status: query.status },
          query.limit + 1,
          decodeCursor(query.cursor),
        );
        const keyed = rows.map((a) => ({ ...a, id: a.affiliateId }));
        return { status: 200, body: page(keyed, query.limit, toAffiliateOut) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/affiliates/{affiliateId}',
      summary:
        'Create or replace an affiliate and its deal (booked commissions keep their terms); emits `affiliate.created`, `affiliate.updated` or `affiliate.status_changed` when something changed',
      auth: 'operator',
      params: AffiliateParams,
      body: AffiliateIn,
      responses: {
        200: { description: 'Replaced, or unchanged (then nothing is emitted)', schema: AffiliateOut },
        201: { description: 'Created', schema: AffiliateOut },
        422: { description: 'Invalid deal', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        const { affiliate, created } = await putAffiliate(deps, operator.id, params.affiliateId, {
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
  ];
}

function commissionRoutes(deps: DecisionDeps) {
  const decided = async (operatorId: string, id: string, decision: Decision) => ({
    status: 200 as const,
    body: toCommissionOut(await decideCommission(deps, operatorId, id, decision)),
  });
  return [
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
        200: {
          description:
            'Approved; or approved already, and perhaps reversed since: the same decision again changes nothing',
          schema: CommissionOut,
        },
        404: notFound('commission'),
        409: {
          description: '`commission_not_pending`: rejected already (the other decision), or a reversal entry',
          schema: ErrorOut,
        },
        503: { description: 'Temporal unreachable; retry', schema: ErrorOut },
      },
      handler: ({ params, operator }) => decided(operator.id, params.id, { kind: 'approve' }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/commissions/{id}/reject',
      summary: 'Reject a pending commission, with the reason the affiliate sees',
      auth: 'operator',
      params: CommissionParams,
      body: RejectIn,
      responses: {
        200: {
          description:
            'Rejected; or rejected already, for whatever reason: the same decision again changes nothing, and the first reason stays',
          schema: CommissionOut,
        },
        404: notFound('commission'),
        409: {
          description:
            '`commission_not_pending`: approved already (the other decision), reversed since, or a reversal entry',
          schema: ErrorOut,
        },
        422: { description: 'No reason given', schema: ErrorOut },
        503: { description: 'Temporal unreachable; retry', schema: ErrorOut },
      },
      handler: ({ params, body, operator }) =>
        decided(operator.id, params.id, { kind: 'reject', reason: body.reason }),
    }),
  ];
}
