import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { findDelivery, listDeliveries } from '../../db/deliveries.js';
import { attemptsOf } from '../../db/delivery-attempts.js';
import { findEndpoint, listEndpoints } from '../../db/endpoints.js';
import { balances, findAffiliate, listCommissions } from '../../db/ledger.js';
import type { Pool } from '../../db/pool.js';
import type { PortalLink, PortalScope } from '../../db/portal-links.js';
import { errors } from '../../errors.js';
import { sendTestDelivery } from '../../ingest/test-delivery.js';
import { ErrorOut } from '../../contract/common.js';
import { decodeCursor, page } from '../cursor.js';
import { defineRoute } from '../route.js';
import { BalanceOut, ListCommissionsQuery, toCommissionOut } from '../schemas/affiliates.js';
import { ListDeliveriesQuery } from '../schemas/deliveries.js';
import { ListQuery } from '../schemas/endpoints.js';
import {
  PortalDeliveryDetailOut,
  PortalDeliveryOut,
  PortalEndpointOut,
  PortalMeOut,
  toPortalDeliveryDetailOut,
  toPortalDeliveryOut,
  toPortalEndpointOut,
} from '../schemas/portal.js';

/**
 * The affiliate portal: read-only routes a portal token opens (auth 'portal'), each answering the link's
 * affiliate's data only, through the same repository queries the operator's routes use with the affiliate
 * as a restriction. Anything not the affiliate's is 404, as another operator's resources are.
 */

export interface PortalRouteDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
}

const EndpointParams = z.object({ id: z.string().regex(/^ep_[A-Za-z0-9]{1,40}$/, 'an endpoint id') });
const DeliveryParams = z.object({ id: z.string().regex(/^dlv_[A-Za-z0-9]{1,40}$/, 'a delivery id') });

const refused = {
  401: { description: 'No portal token, or one expired or revoked', schema: ErrorOut },
  403: { description: '`portal_scope_missing`: the link was minted without this scope', schema: ErrorOut },
};
const notFound = { description: "Not this affiliate's", schema: ErrorOut };

function need(link: PortalLink, scope: PortalScope): void {
  if (!link.scope.includes(scope)) throw errors.portalScopeMissing(scope);
}

export function portalRoutes(deps: PortalRouteDeps) {
  const mustFindEndpoint = async (link: PortalLink, id: string) => {
    const endpoint = await findEndpoint(deps.pool, link.operatorId, id, link.affiliateId);
    if (!endpoint) throw errors.notFound(`Endpoint ${id}`);
    return endpoint;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/v1/portal/me',
      summary: 'Who the portal token is for: the affiliate, and the link with its scope and expiry',
      auth: 'portal',
      responses: { 200: { description: 'The affiliate', schema: PortalMeOut }, ...refused },
      handler: async ({ portal }) => {
        const a = (await findAffiliate(deps.pool, portal.operatorId, portal.affiliateId))!;
        return {
          status: 200,
          body: {
            affiliateId: a.affiliateId,
            name: a.name,
            status: a.status,
            link: { id: portal.id, scope: portal.scope, expiresAt: portal.expiresAt.toISOString() },
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/portal/endpoints',
      summary: "The affiliate's endpoints (those scoped to it), newest first",
      auth: 'portal',
      query: ListQuery,
      responses: { 200: { description: '{data, nextCursor} of PortalEndpointOut' }, ...refused },
      handler: async ({ query, portal }) => {
        need(portal, 'endpoints');
        const rows = await listEndpoints(
          deps.pool,
          portal.operatorId,
          query.limit + 1,
          decodeCursor(query.cursor),
          portal.affiliateId,
        );
        return { status: 200, body: page(rows, query.limit, toPortalEndpointOut) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/portal/endpoints/{id}',
      summary: 'One of the affiliate’s endpoints',
      auth: 'portal',
      params: EndpointParams,
      responses: {
        200: { description: 'The endpoint', schema: PortalEndpointOut },
        404: notFound,
        ...refused,
      },
      handler: async ({ params, portal }) => {
        need(portal, 'endpoints');
        return { status: 200, body: toPortalEndpointOut(await mustFindEndpoint(portal, params.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/portal/endpoints/{id}/test',
      summary: 'Send a webhook.test event to one of the affiliate’s endpoints; returns its delivery',
      auth: 'portal',
      params: EndpointParams,
      responses: {
        202: { description: 'The delivery, started', schema: PortalDeliveryOut },
        404: notFound,
        503: { description: 'Temporal away', schema: ErrorOut },
        ...refused,
      },
      handler: async ({ params, portal }) => {
        need(portal, 'test');
        const endpoint = await mustFindEndpoint(portal, params.id);
        const delivery = await sendTestDelivery(deps, portal.operatorId, endpoint);
        return { status: 202, body: toPortalDeliveryOut(delivery) };
      },
    }),
    ...deliveryAndMoneyRoutes(deps),
  ];
}

function deliveryAndMoneyRoutes(deps: PortalRouteDeps) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/portal/deliveries',
      summary: "Deliveries to the affiliate's endpoints, newest first, filtered",
      auth: 'portal',
      query: ListDeliveriesQuery,
      responses: { 200: { description: '{data, nextCursor} of PortalDeliveryOut' }, ...refused },
      handler: async ({ query, portal }) => {
        need(portal, 'deliveries');
        const rows = await listDeliveries(
          deps.pool,
          portal.operatorId,
          { ...query, affiliateId: portal.affiliateId },
          query.limit + 1,
          decodeCursor(query.cursor),
        );
        return { status: 200, body: page(rows, query.limit, toPortalDeliveryOut) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/portal/deliveries/{id}',
      summary: 'One of those deliveries with its attempt log (response bodies as a printable preview)',
      auth: 'portal',
      params: DeliveryParams,
      responses: {
        200: { description: 'The delivery', schema: PortalDeliveryDetailOut },
        404: notFound,
        ...refused,
      },
      handler: async ({ params, portal }) => {
        need(portal, 'deliveries');
        const d = await findDelivery(deps.pool, portal.operatorId, params.id, portal.affiliateId);
        if (!d) throw errors.notFound(`Delivery ${params.id}`);
        return { status: 200, body: toPortalDeliveryDetailOut(d, await attemptsOf(deps.pool, d.id)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/portal/commissions',
      summary: "The affiliate's commissions, newest first; reversals are entries of their own",
      auth: 'portal',
      query: ListCommissionsQuery,
      responses: { 200: { description: '{data, nextCursor} of CommissionOut' }, ...refused },
      handler: async ({ query, portal }) => {
        need(portal, 'commissions');
        const rows = await listCommissions(deps.pool, portal.operatorId, portal.affiliateId, {
          status: query.status,
          limit: query.limit + 1,
          cursor: decodeCursor(query.cursor),
        });
        return { status: 200, body: page(rows, query.limit, toCommissionOut) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/portal/balance',
      summary: "The affiliate's balances per currency",
      auth: 'portal',
      responses: { 200: { description: 'Balances', schema: BalanceOut }, ...refused },
      handler: async ({ portal }) => {
        need(portal, 'commissions');
        return {
          status: 200,
          body: {
            affiliateId: portal.affiliateId,
            balances: await balances(deps.pool, portal.operatorId, portal.affiliateId),
          },
        };
      },
    }),
  ];
}
