import { z } from 'zod';
import type { Endpoint } from '../../db/endpoints.js';
import type { Delivery } from '../../db/deliveries.js';
import type { DeliveryAttempt } from '../../db/delivery-attempts.js';
import { PORTAL_SCOPES, type PortalLink } from '../../db/portal-links.js';
import { isDuration, parseDuration } from '../../domain/duration.js';
import { ExternalId } from '../../contract/common.js';
import { AttemptOut, DeliveryOut, toAttemptOut, toDeliveryOut } from './deliveries.js';

/** Affiliate portal links and the read-only portal API they open (docs/api-v1.md section 8). */

export const PORTAL_LINK_DEFAULT_EXPIRY = '24h';
export const PORTAL_LINK_MAX_EXPIRY = '30d';
const MIN_EXPIRY_MS = 60_000;

export const PortalScope = z.enum(PORTAL_SCOPES);

export const PortalLinkIn = z
  .strictObject({
    expiresIn: z
      .string()
      .refine(isDuration, 'a duration such as "24h" or "7d"')
      .refine((d) => !isDuration(d) || parseDuration(d) >= MIN_EXPIRY_MS, 'at least 1m')
      .refine(
        (d) => !isDuration(d) || parseDuration(d) <= parseDuration(PORTAL_LINK_MAX_EXPIRY),
        `at most ${PORTAL_LINK_MAX_EXPIRY}`,
      )
      .default(PORTAL_LINK_DEFAULT_EXPIRY)
      .describe(`How long the link works, from now: 1m to ${PORTAL_LINK_MAX_EXPIRY}`),
    scope: z
      .array(PortalScope)
      .min(1)
      .refine((s) => new Set(s).size === s.length, 'each scope once')
      .default([...PORTAL_SCOPES])
      .describe(
        '`endpoints`: its endpoints; `deliveries`: their deliveries and attempt logs; `commissions`: its ' +
          'commissions and balances; `test`: send its endpoints a test. Default: all',
      ),
  })
  .meta({ id: 'PortalLinkIn' });

export const PortalLinkParams = z.object({
  affiliateId: ExternalId,
  linkId: z.string().regex(/^pl_[A-Za-z0-9]{1,40}$/, 'a portal link id'),
});

export const PortalLinkOut = z
  .object({
    id: z.string(),
    affiliateId: z.string(),
    scope: z.array(PortalScope),
    expiresAt: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'PortalLinkOut' });

export const PortalLinkCreatedOut = PortalLinkOut.extend({
  token: z
    .string()
    .describe('`ahp_...`: shown this once, stored only as a hash. The affiliate sends it as a Bearer token'),
}).meta({ id: 'PortalLinkCreatedOut' });

export function toPortalLinkOut(l: PortalLink, now = new Date()) {
  return {
    id: l.id,
    affiliateId: l.affiliateId,
    scope: l.scope,
    expiresAt: l.expiresAt.toISOString(),
    createdAt: l.createdAt.toISOString(),
    revokedAt: l.revokedAt?.toISOString() ?? null,
    status: l.revokedAt
      ? ('revoked' as const)
      : l.expiresAt <= now
        ? ('expired' as const)
        : ('active' as const),
  };
}

export const PortalMeOut = z
  .object({
    affiliateId: z.string(),
    name: z.string(),
    status: z.enum(['active', 'suspended']),
    link: z.object({ id: z.string(), scope: z.array(PortalScope), expiresAt: z.string() }),
  })
  .meta({ id: 'PortalMeOut' });

/** An endpoint as its affiliate sees it: no secret, custom headers, filter or retry policy. */
export const PortalEndpointOut = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    format: z.enum(['webhook', 'postback']),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'PortalEndpointOut' });

export function toPortalEndpointOut(e: Endpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    format: e.format,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

/** A delivery as its affiliate sees it: without the operator's workflow id and routing rules. */
export const PortalDeliveryOut = DeliveryOut.omit({ workflowId: true, routing: true }).meta({
  id: 'PortalDeliveryOut',
});
export const PortalDeliveryDetailOut = PortalDeliveryOut.extend({ attempts: z.array(AttemptOut) }).meta({
  id: 'PortalDeliveryDetailOut',
});

export function toPortalDeliveryOut(d: Delivery) {
  const { workflowId: _workflowId, routing: _routing, ...rest } = toDeliveryOut(d);
  return rest;
}

export function toPortalDeliveryDetailOut(d: Delivery, attempts: DeliveryAttempt[]) {
  return { ...toPortalDeliveryOut(d), attempts: attempts.map(toAttemptOut) };
}
