import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { MAX_BATCH_EVENTS } from '../../ingest/accept-batch.js';
import type { buildOpenApi } from '../openapi.js';
import { EventBatchOut, EventBatchUnavailableOut } from '../schemas/batch.js';
import { ErrorOut } from '../../contract/common.js';
import { EventAcceptedOut } from '../../contract/events.js';

type OpenApiDocument = ReturnType<typeof buildOpenApi>;

/**
 * The OpenAPI document with the inbound routes added. They are not route definitions (no API key, raw
 * body), so they are described here, from the same zod schemas, without the bearer requirement.
 */
export function withInboundPaths(doc: OpenApiDocument): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const SourceParams = z.object({ sourceId: z.string().describe('The source id, src_...') });
  const TokenParams = SourceParams.extend({ token: z.string().describe("The token source's token") });
  const SignatureHeaders = z.object({
    'webhook-id': z.string().describe('Message id (svix-id is accepted too)'),
    'webhook-timestamp': z.string().describe('Unix seconds; refused when more than 5 minutes off'),
    'webhook-signature': z
      .string()
      .describe('v1,<base64 HMAC-SHA256 of "id.timestamp.body">, space-separated'),
  });
  // By reference: EventIn is a component of the document these paths join (POST /v1/events uses it).
  const eventRef = { $ref: '#/components/schemas/EventIn' };
  const Body = z.unknown().meta({
    description: `One event, or an array of 1 to ${MAX_BATCH_EVENTS} (each validated and answered on its own)`,
    anyOf: [eventRef, { type: 'array', items: eventRef, minItems: 1, maxItems: MAX_BATCH_EVENTS }],
  });
  const postResponses = {
    202: { description: 'One event: recorded and its workflow started', schema: EventAcceptedOut },
    200: {
      description: 'One event: a duplicate. An array: one result per item, in input order',
      schema: z.union([EventAcceptedOut, EventBatchOut]),
    },
    400: { description: 'Malformed JSON', schema: ErrorOut },
    401: { description: 'Not verified (same answer whatever failed); nothing was stored', schema: ErrorOut },
    409: { description: 'One event: same id, different body', schema: ErrorOut },
    413: { description: 'Body over the limit', schema: ErrorOut },
    415: { description: 'Not JSON', schema: ErrorOut },
    422: { description: 'Invalid event, or not an event or an array of 1 to 500', schema: ErrorOut },
    503: {
      description: 'Temporal or PostgreSQL unreachable; retry (an array answers each item)',
      schema: z.union([ErrorOut, EventBatchUnavailableOut]),
    },
  };
  const content = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
  const responses = (r: Record<number, { description: string; schema: z.ZodType }>) =>
    Object.fromEntries(
      Object.entries(r).map(([status, v]) => [status, { description: v.description, ...content(v.schema) }]),
    );
  registry.registerPath({
    method: 'post',
    path: '/v1/inbound/{sourceId}',
    summary: 'An hmac source sends one event or up to 500, signed per Standard Webhooks',
    security: [],
    request: { params: SourceParams, headers: SignatureHeaders, body: content(Body) },
    responses: responses(postResponses),
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/inbound/{sourceId}/{token}',
    summary: 'A token source sends one event or up to 500',
    security: [],
    request: { params: TokenParams, body: content(Body) },
    responses: responses(postResponses),
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/inbound/{sourceId}/{token}',
    summary: "A token source's postback: query fields become an event by the source's fieldMap",
    description:
      'Any query fields; the source maps them (fieldMap, statusMap, defaults) to one event, validated like POST /v1/events.',
    security: [],
    request: { params: TokenParams },
    responses: responses({
      202: postResponses[202],
      200: { description: 'A duplicate', schema: EventAcceptedOut },
      401: postResponses[401],
      409: postResponses[409],
      422: {
        description: 'The query does not map to a valid event; details name the fields',
        schema: ErrorOut,
      },
      503: { description: 'Temporal or PostgreSQL unreachable; retry', schema: ErrorOut },
    }),
  });
  const inbound = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: doc.openapi,
    info: doc.info,
  });
  return {
    ...doc,
    paths: { ...doc.paths, ...inbound.paths },
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...inbound.components?.schemas },
    },
  };
}
