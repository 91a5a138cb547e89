import { rotateEndpointSecret } from '../../db/endpoints.js';
import { endpointHealth } from '../../db/endpoint-health.js';
import { generateWebhookSecret } from '../../delivery/secrets.js';
import { errors } from '../../errors.js';
import { sendTestDelivery } from '../../ingest/test-delivery.js';
import { recoverEndpoint } from '../../ingest/redrive.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import { toDeliveryOut } from '../schemas/deliveries.js';
import { EndpointHealthOut, RecoverIn } from '../schemas/endpoints.js';
import { IdParams, notFound, type EndpointContext } from './endpoint-context.js';
import { testFilterRoute } from './endpoint-filter.js';

const HEALTH_WINDOW_MS = 24 * 3_600_000;

/**
 * An endpoint's secret, its rotation, a test delivery, recovery of failed deliveries, and what its filter
 * makes of an event.
 */
export function endpointActionRoutes({ deps, mustFind }: EndpointContext) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/endpoints/{id}/secret',
      summary: "The endpoint's current signing secret",
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: '{secret}' }, 404: notFound },
      handler: async ({ params, operator }) => {
        const endpoint = await mustFind(operator.id, params.id);
        return {
          status: 200,
          body: { secret: deps.delivery.cipher.decrypt(endpoint.secretSealed, endpoint.id) },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/endpoints/{id}/rotate-secret',
      summary: 'Make a new signing secret; the old one keeps signing beside it for the grace period',
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: '{secret, previousSecretExpiresAt}' }, 404: notFound },
      handler: async ({ params, operator }) => {
        const secret = generateWebhookSecret();
        const endpoint = await rotateEndpointSecret(
          deps.pool,
          operator.id,
          params.id,
          deps.delivery.cipher.encrypt(secret, params.id),
          deps.secretRotationGraceMs,
        );
        if (!endpoint) throw errors.notFound(`Endpoint ${params.id}`);
        // Stored as PostgreSQL wrote them (session time zone, microseconds): compare as instants, answer in
        // the API's own RFC 3339 UTC form.
        const latest = Math.max(...endpoint.previousSecrets.map((s) => Date.parse(s.expiresAt)));
        return {
          status: 200,
          body: {
            secret,
            previousSecretExpiresAt: Number.isFinite(latest) ? new Date(latest).toISOString() : null,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/endpoints/{id}/test',
      summary: 'Send a webhook.test event to this endpoint only; returns its delivery',
      auth: 'operator',
      params: IdParams,
      responses: {
        202: { description: 'The delivery, started' },
        404: notFound,
        503: { description: 'Temporal away', schema: ErrorOut },
      },
      handler: async ({ params, operator }) => {
        const endpoint = await mustFind(operator.id, params.id);
        return { status: 202, body: toDeliveryOut(await sendTestDelivery(deps, operator.id, endpoint)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/endpoints/{id}/recover',
      summary: "Re-drive the endpoint's failed deliveries created in [since, until); dryRun counts them",
      auth: 'operator',
      params: IdParams,
      body: RecoverIn,
      responses: {
        202: { description: '{count, dryRun}' },
        404: notFound,
        503: { description: 'Temporal away', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        await mustFind(operator.id, params.id);
        const count = await recoverEndpoint(deps, operator.id, params.id, body);
        return { status: 202, body: { count, dryRun: body.dryRun } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/endpoints/{id}/health',
      summary:
        "The endpoint's last 24 hours: attempts, how many succeeded, the latest failure; and its state",
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: 'Its health', schema: EndpointHealthOut }, 404: notFound },
      handler: async ({ params, operator }) => {
        const endpoint = await mustFind(operator.id, params.id);
        const since = new Date(Date.now() - HEALTH_WINDOW_MS);
        const h = await endpointHealth(deps.pool, operator.id, endpoint.id, since);
        return {
          status: 200,
          body: {
            endpointId: endpoint.id,
            window: '24h',
            since: since.toISOString(),
            attempts: h.attempts,
            succeeded: h.succeeded,
            failed: h.attempts - h.succeeded,
            successRate: h.attempts ? (h.succeeded / h.attempts).toFixed(4) : null,
            lastFailure: h.lastFailure && { ...h.lastFailure, at: h.lastFailure.at.toISOString() },
            enabled: endpoint.enabled,
            disabledReason: endpoint.disabledReason,
            breaker: endpoint.breaker.state,
          },
        };
      },
    }),
    testFilterRoute({ deps, mustFind }),
  ];
}
