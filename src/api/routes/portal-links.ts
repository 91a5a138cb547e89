import { findAffiliate } from '../../db/ledger.js';
import type { Pool } from '../../db/pool.js';
import { createPortalLink, listPortalLinks, revokePortalLink } from '../../db/portal-links.js';
import { parseDuration } from '../../domain/duration.js';
import { errors } from '../../errors.js';
import { ErrorOut } from '../../contract/common.js';
import { decodeCursor, page } from '../cursor.js';
import { defineRoute } from '../route.js';
import { AffiliateParams } from '../schemas/affiliates.js';
import { ListQuery } from '../schemas/endpoints.js';
import { PortalLinkCreatedOut, PortalLinkIn, PortalLinkParams, toPortalLinkOut } from '../schemas/portal.js';

/** An operator's side of affiliate portal links: mint, list, revoke (the portal itself: portal.ts). */
export function portalLinkRoutes(deps: { pool: Pool }) {
  const mustFindAffiliate = async (operatorId: string, affiliateId: string) => {
    if (!(await findAffiliate(deps.pool, operatorId, affiliateId)))
      throw errors.notFound(`Affiliate ${affiliateId}`);
  };
  const notFound = { description: 'No such affiliate (or link) for this operator', schema: ErrorOut };
  return [
    defineRoute({
      method: 'post',
      path: '/v1/affiliates/{affiliateId}/portal-links',
      summary:
        'Mint a short-lived, read-only portal link for the affiliate; its token is in this answer only',
      auth: 'operator',
      params: AffiliateParams,
      body: PortalLinkIn,
      responses: {
        201: { description: 'Created', schema: PortalLinkCreatedOut },
        404: notFound,
        422: { description: 'Bad expiry or scope', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        await mustFindAffiliate(operator.id, params.affiliateId);
        const { link, token } = await createPortalLink(
          deps.pool,
          operator.id,
          params.affiliateId,
          body.scope,
          parseDuration(body.expiresIn),
        );
        return { status: 201, body: { ...toPortalLinkOut(link), token } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/affiliates/{affiliateId}/portal-links',
      summary: "The affiliate's portal links, newest first, without their tokens",
      auth: 'operator',
      params: AffiliateParams,
      query: ListQuery,
      responses: { 200: { description: '{data, nextCursor}' }, 404: notFound },
      handler: async ({ params, query, operator }) => {
        await mustFindAffiliate(operator.id, params.affiliateId);
        const rows = await listPortalLinks(
          deps.pool,
          operator.id,
          params.affiliateId,
          query.limit + 1,
          decodeCursor(query.cursor),
        );
        const now = new Date();
        return { status: 200, body: page(rows, query.limit, (l) => toPortalLinkOut(l, now)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/affiliates/{affiliateId}/portal-links/{linkId}',
      summary: 'Revoke a portal link: its token is refused from the next request on',
      auth: 'operator',
      params: PortalLinkParams,
      responses: { 204: { description: 'Revoked (or revoked already)' }, 404: notFound },
      handler: async ({ params, operator }) => {
        await mustFindAffiliate(operator.id, params.affiliateId);
        const link = await revokePortalLink(deps.pool, operator.id, params.affiliateId, params.linkId);
        if (!link) throw errors.notFound(`Portal link ${params.linkId}`);
        return { status: 204 };
      },
    }),
  ];
}
