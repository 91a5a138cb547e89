import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { EMITTED_EVENT_DATA_SCHEMAS, webhookBodySchema } from '../contract/emitted-events.js';
import { ALL_EVENT_TYPES, EVENT_VERTICALS, isOperationalEventType } from '../domain/event-types.js';
import { MAX_JSON_DEPTH } from './json-depth.js';
import type { RouteDef } from './route.js';

/**
 * One webhook per event type (OpenAPI 3.1 `webhooks`): the body a `format: "webhook"` endpoint receives,
 * with that type's `data.details` fields (src/contract). docs/events.md lists the same, rendered from the
 * same schemas.
 */
function registerWebhooks(registry: OpenAPIRegistry): void {
  for (const type of ALL_EVENT_TYPES) {
    const emitted = type in EMITTED_EVENT_DATA_SCHEMAS;
    const kind = isOperationalEventType(type)
      ? 'Operational event, emitted by the orchestrator; only endpoints that name it receive it.'
      : emitted
        ? 'Emitted by the orchestrator.'
        : `Sent by operators (\`POST /v1/events\`; vertical: ${EVENT_VERTICALS[type].join(', ')}).`;
    registry.registerWebhook({
      method: 'post',
      path: type,
      summary: `\`${type}\` to a subscribed endpoint`,
      description:
        `${kind} Signed with Standard Webhooks headers (\`webhook-id\`, \`webhook-timestamp\`, ` +
        '`webhook-signature`); `webhook-id` is the same on every attempt of a delivery. docs/events.md lists every type.',
      request: { body: { content: { 'application/json': { schema: webhookBodySchema(type) } } } },
      responses: {
        200: {
          description:
            'Any 2xx is success; 410 disables the endpoint; anything else is retried by its policy',
        },
      },
    });
  }
}

/** The OpenAPI 3.1 description, generated from the same route definitions Express mounts. */
export function buildOpenApi(routes: RouteDef[], version: string) {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const portal = registry.registerComponent('securitySchemes', 'portalToken', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An affiliate portal token (`ahp_...`, from `POST /v1/affiliates/{affiliateId}/portal-links`). It opens ' +
      'the `/v1/portal` routes only; any other route answers it `403 portal_token_refused`.',
  });
  for (const r of routes) {
    registry.registerPath({
      method: r.method,
      path: r.path,
      summary: r.summary,
      security: [{ [(r.auth === 'portal' ? portal : bearer).name]: [] }],
      request: {
        ...(r.params ? { params: r.params as z.ZodObject } : {}),
        ...(r.query ? { query: r.query as z.ZodObject } : {}),
        ...(r.body ? { body: { content: { 'application/json': { schema: r.body } } } } : {}),
      },
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, resp]) => [
          status,
          {
            description: resp.description,
            ...(resp.schema ? { content: { 'application/json': { schema: resp.schema } } } : {}),
          },
        ]),
      ),
    });
  }
  registerWebhooks(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'affiliate-hooks API',
      version,
      description:
        'JSON bodies only (`415` otherwise), at most `MAX_BODY_BYTES` (`413`). Malformed JSON is `400 invalid_json`. ' +
        `A body nesting arrays and objects deeper than ${MAX_JSON_DEPTH} levels (the body itself is level 1) is ` +
        '`422 validation_failed`, at the path where it crosses the limit, and nothing is stored. The NUL character ' +
        '(`\\u0000`) in any string or field name is `422` at its path. `503 service_unavailable` (with ' +
        '`Retry-After`) means PostgreSQL or Temporal is away and nothing was acknowledged: retry with the same body.',
    },
  });
}
