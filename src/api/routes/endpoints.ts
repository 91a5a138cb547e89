import {
  deleteEndpoint,
  insertEndpoint,
  listEndpoints,
  newEndpointId,
  resealEndpointHeaders,
  updateEndpoint,
  type EndpointFields,
} from '../../db/endpoints.js';
import { isPlaintextHeaders } from '../../delivery/sealed-headers.js';
import { generateWebhookSecret } from '../../delivery/secrets.js';
import { CANCEL_REASONS } from '../../domain/cancel-reasons.js';
import type { RetryPolicy } from '../../domain/retry-policy.js';
import type { RoutingFilter } from '../../domain/routing-filter.js';
import { errors } from '../../errors.js';
import { endEndpointWaitsInBackground } from '../../ingest/endpoint-waits.js';
import { decodeCursor, page } from '../cursor.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import {
  EndpointIn,
  EndpointOut,
  EndpointPatch,
  ListQuery,
  postbackIssues,
  subscriptionProblems,
  type PostbackIn,
} from '../schemas/endpoints.js';
import { endpointActionRoutes } from './endpoint-actions.js';
import { endpointReplayRoutes } from './endpoint-replays.js';
import {
  endpointContext,
  IdParams,
  notFound,
  type EndpointContext,
  type EndpointRouteDeps,
} from './endpoint-context.js';

export type { EndpointRouteDeps } from './endpoint-context.js';

/** /v1/endpoints: create, list, read, change, delete; the actions on one endpoint are in endpoint-actions.ts. */
export function endpointRoutes(deps: EndpointRouteDeps) {
  const ctx = endpointContext(deps);
  const { mustFind, out } = ctx;
  return [
    createRoute(ctx),
    defineRoute({
      method: 'get',
      path: '/v1/endpoints',
      summary: "List the operator's endpoints, newest first",
      auth: 'operator',
      query: ListQuery,
      responses: { 200: { description: '{data, nextCursor}' } },
      handler: async ({ query, operator }) => {
        const rows = await listEndpoints(deps.pool, operator.id, query.limit + 1, decodeCursor(query.cursor));
        return { status: 200, body: page(rows, query.limit, (e) => out(e)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/endpoints/{id}',
      summary: 'An endpoint',
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: 'The endpoint', schema: EndpointOut }, 404: notFound },
      handler: async ({ params, operator }) => ({
        status: 200,
        body: out(await mustFind(operator.id, params.id)),
      }),
    }),
    patchRoute(ctx),
    defineRoute({
      method: 'delete',
      path: '/v1/endpoints/{id}',
      summary:
        'Delete an endpoint; it receives nothing more, and its waiting deliveries end at once (cancelled, endpoint_deleted)',
      auth: 'operator',
      params: IdParams,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      handler: async ({ params, operator }) => {
        if (!(await deleteEndpoint(deps.pool, operator.id, params.id)))
          throw errors.notFound(`Endpoint ${params.id}`);
        endEndpointWaitsInBackground(deps, operator.id, params.id, CANCEL_REASONS.endpointDeleted);
        return { status: 204 };
      },
    }),
    ...endpointActionRoutes(ctx),
    ...endpointReplayRoutes(ctx),
  ];
}

function createRoute({ deps, checkUrl, checkPostbackUrls, timeoutMs, out, seal }: EndpointContext) {
  return defineRoute({
    method: 'post',
    path: '/v1/endpoints',
    summary: 'Create an endpoint; the answer carries its signing secret',
    auth: 'operator',
    body: EndpointIn,
    responses: {
      201: { description: 'Created', schema: EndpointOut },
      422: { description: 'Invalid endpoint (including a URL the SSRF guard refuses)', schema: ErrorOut },
    },
    handler: async ({ body, operator }) => {
      checkUrl(body.url);
      checkPostbackUrls(body.url, body.postback);
      const id = newEndpointId();
      const secret = generateWebhookSecret();
      const fields: EndpointFields = {
        url: body.url,
        description: body.description ?? null,
        eventTypes: body.eventTypes,
        affiliateId: body.affiliateId ?? null,
        format: body.format,
        headers: seal(id, body.headers ?? {}),
        retryPolicy: (body.retryPolicy as RetryPolicy | undefined) ?? null,
        timeoutMs: timeoutMs(body.timeout) ?? deps.defaultTimeoutMs,
        rateLimitPerSecond: body.rateLimitPerSecond ?? null,
        postback: body.postback ?? null,
        filter: (body.filter as RoutingFilter | undefined) ?? null,
        enabled: body.enabled,
      };
      const endpoint = await insertEndpoint(
        deps.pool,
        operator.id,
        id,
        fields,
        deps.delivery.cipher.encrypt(secret, id),
      );
      return { status: 201, body: out(endpoint, secret) };
    },
  });
}

function patchRoute({ deps, checkUrl, checkPostbackUrls, timeoutMs, mustFind, out, seal }: EndpointContext) {
  return defineRoute({
    method: 'patch',
    path: '/v1/endpoints/{id}',
    summary:
      'Change an endpoint; deliveries already made keep the retry policy they started with. Disabling it ends its waiting deliveries at once (cancelled, endpoint_disabled)',
    auth: 'operator',
    params: IdParams,
    body: EndpointPatch,
    responses: { 200: { description: 'The endpoint', schema: EndpointOut }, 404: notFound },
    handler: async ({ params, body, operator }) => {
      checkUrl(body.url);
      if (body.url !== undefined || body.postback !== undefined || body.eventTypes !== undefined) {
        // The postback settings are checked against the url they build on, and the subscription against
        // the settings that must carry it, whichever of the three changes.
        const current = await mustFind(operator.id, params.id);
        const url = body.url ?? current.url;
        const postback = (
          body.postback === undefined ? current.postback : body.postback
        ) as PostbackIn | null;
        let issues: { path: (string | number)[]; message: string }[] = postbackIssues(
          current.format,
          url,
          postback,
        );
        if (!issues.length) {
          issues = subscriptionProblems(current.format, url, postback, body.eventTypes ?? current.eventTypes);
        }
        if (issues.length) {
          throw errors.validation(issues.map((i) => ({ code: 'custom', ...i, input: undefined })));
        }
        checkPostbackUrls(url, postback);
      }
      const patch: Partial<EndpointFields> = {
        url: body.url,
        description: body.description,
        eventTypes: body.eventTypes,
        affiliateId: body.affiliateId,
        headers: body.headers === undefined ? undefined : seal(params.id, body.headers ?? {}),
        retryPolicy: body.retryPolicy as RetryPolicy | null | undefined,
        timeoutMs: timeoutMs(body.timeout),
        rateLimitPerSecond: body.rateLimitPerSecond,
        postback: body.postback,
        filter: body.filter as RoutingFilter | null | undefined,
        enabled: body.enabled,
      };
      let endpoint = await updateEndpoint(deps.pool, operator.id, params.id, patch);
      if (!endpoint) throw errors.notFound(`Endpoint ${params.id}`);
      if (body.enabled === false) {
        // Also when it was disabled already (after a 410, say): whatever it left waiting ends now.
        endEndpointWaitsInBackground(deps, operator.id, params.id, CANCEL_REASONS.endpointDisabled);
      }
      if (isPlaintextHeaders(endpoint.headers)) {
        // A row from before headers were sealed: any write seals them (the migrations have no key).
        const plain = endpoint.headers as Record<string, string>;
        endpoint =
          (await resealEndpointHeaders(deps.pool, endpoint.id, plain, seal(endpoint.id, plain))) ?? endpoint;
      }
      return { status: 200, body: out(endpoint) };
    },
  });
}
