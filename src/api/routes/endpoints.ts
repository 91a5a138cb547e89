import { z } from 'zod';
import { failedDeliveryIds, reopenFailedDeliveries } from '../../db/deliveries.js';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  newEndpointId,
  resealEndpointHeaders,
  rotateEndpointSecret,
  updateEndpoint,
  type Endpoint,
  type EndpointFields,
} from '../../db/endpoints.js';
import { findEvent } from '../../db/events.js';
import type { Pool } from '../../db/pool.js';
import type { DeliveryRuntime } from '../../delivery/deps.js';
import { isPlaintextHeaders, openHeaders, sealHeaders } from '../../delivery/sealed-headers.js';
import { generateWebhookSecret } from '../../delivery/secrets.js';
import { validateEndpointUrl } from '../../delivery/ssrf.js';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { renderTemplate } from '../../domain/postback/macros.js';
import { resolvePostbackConfig, type PostbackSettings } from '../../domain/postback/presets.js';
import type { InboundEventType } from '../../domain/event-types.js';
import type { RetryPolicy } from '../../domain/retry-policy.js';
import type { Client } from '@temporalio/client';
import { boundedWait } from '../../temporal/timeout.js';
import { redriveDeliveries } from '../../temporal/event-signals.js';
import { emitInternalEvent } from '../../ingest/internal-event.js';
import { randomBase62 } from '../../db/new-id.js';
import { toDeliveryOut } from './deliveries.js';
import { decodeCursor, page } from '../cursor.js';
import { AppError } from '../errors.js';
import { errors } from '../errors.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../schemas/common.js';
import {
  EndpointIn,
  EndpointOut,
  EndpointPatch,
  ListQuery,
  postbackIssues,
  RecoverIn,
  type PostbackIn,
} from '../schemas/endpoints.js';

export interface EndpointRouteDeps {
  pool: Pool;
  delivery: DeliveryRuntime;
  client: () => Promise<Client>;
  taskQueue: string;
  secretRotationGraceMs: number;
  defaultTimeoutMs: number;
}

const MAX_TIMEOUT_MS = 60_000;
const IdParams = z.object({ id: z.string().regex(/^ep_[A-Za-z0-9]{1,40}$/, 'an endpoint id') });

/** `headers` is the endpoint's custom header map, opened (openHeaders). */
export function toEndpointOut(e: Endpoint, headers: Record<string, string>, secret?: string): EndpointOut {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    affiliateId: e.affiliateId,
    format: e.format,
    headers,
    retryPolicy: e.retryPolicy,
    timeout: formatDuration(e.timeoutMs),
    rateLimitPerSecond: e.rateLimitPerSecond,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    ...(e.format === 'postback' && e.postback ? { postback: e.postback as PostbackIn } : {}),
    ...(secret ? { secret } : {}),
  };
}

function invalid(path: string, message: string): AppError {
  return errors.validation([{ code: 'custom', path: path.split('.'), message, input: undefined }]);
}

export function endpointRoutes(deps: EndpointRouteDeps) {
  const checkUrl = (url: string | undefined) => {
    if (url === undefined) return;
    const problem = validateEndpointUrl(url, deps.delivery.ssrf);
    if (problem) throw invalid('url', problem);
  };
  // A postback goes to its template's host, not necessarily the url's: that host passes the same guard.
  const checkPostbackUrls = (url: string, postback: PostbackSettings | null | undefined) => {
    if (!postback) return;
    const resolved = resolvePostbackConfig(url, postback);
    if (!resolved.ok) return; // refused by validation already
    const { template, reversalTemplate } = resolved.config;
    for (const [path, parsed] of [
      ['postback.template', template],
      ['postback.reversalTemplate', reversalTemplate],
    ] as const) {
      if (!parsed) continue;
      // Hosts are literal in a valid template, so the URL with every macro empty has the host sent to.
      const problem = validateEndpointUrl(renderTemplate(parsed, {}, 'url').text, deps.delivery.ssrf);
      if (problem) throw invalid(path, problem);
    }
  };
  const timeoutMs = (timeout: string | null | undefined): number | undefined => {
    if (timeout === undefined) return undefined;
    if (timeout === null) return deps.defaultTimeoutMs;
    const ms = parseDuration(timeout);
    if (ms < 100 || ms > MAX_TIMEOUT_MS) throw invalid('timeout', 'between 100ms and 60s');
    return ms;
  };
  const mustFind = async (operatorId: string, id: string) => {
    const endpoint = await findEndpoint(deps.pool, operatorId, id);
    if (!endpoint) throw errors.notFound(`Endpoint ${id}`);
    return endpoint;
  };
  const notFound = { description: 'No such endpoint for this operator', schema: ErrorOut };
  // Custom headers are stored sealed (they often hold the receiver's credentials); the operator reads them.
  const out = (e: Endpoint, secret?: string) =>
    toEndpointOut(e, openHeaders(deps.delivery.cipher, e.id, e.headers), secret);
  const seal = (id: string, headers: Record<string, string>) =>
    sealHeaders(deps.delivery.cipher, id, headers);

  return [
    defineRoute({
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
    }),
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
    defineRoute({
      method: 'patch',
      path: '/v1/endpoints/{id}',
      summary: 'Change an endpoint; deliveries already made keep the retry policy they started with',
      auth: 'operator',
      params: IdParams,
      body: EndpointPatch,
      responses: { 200: { description: 'The endpoint', schema: EndpointOut }, 404: notFound },
      handler: async ({ params, body, operator }) => {
        checkUrl(body.url);
        if (body.url !== undefined || body.postback !== undefined) {
          // The postback settings are checked against the url they build on, whichever of the two changes.
          const current = await mustFind(operator.id, params.id);
          const url = body.url ?? current.url;
          const postback = body.postback === undefined ? current.postback : body.postback;
          const issues = postbackIssues(current.format, url, postback as PostbackIn | null);
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
          enabled: body.enabled,
        };
        let endpoint = await updateEndpoint(deps.pool, operator.id, params.id, patch);
        if (!endpoint) throw errors.notFound(`Endpoint ${params.id}`);
        if (isPlaintextHeaders(endpoint.headers)) {
          // A row from before headers were sealed: any write seals them (the migrations have no key).
          const plain = endpoint.headers as Record<string, string>;
          endpoint =
            (await resealEndpointHeaders(deps.pool, endpoint.id, plain, seal(endpoint.id, plain))) ??
            endpoint;
        }
        return { status: 200, body: out(endpoint) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/endpoints/{id}',
      summary: 'Delete an endpoint; it receives nothing more, pending retries included',
      auth: 'operator',
      params: IdParams,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      handler: async ({ params, operator }) => {
        if (!(await deleteEndpoint(deps.pool, operator.id, params.id)))
          throw errors.notFound(`Endpoint ${params.id}`);
        return { status: 204 };
      },
    }),
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
        let emitted;
        try {
          emitted = await emitInternalEvent(
            {
              pool: deps.pool,
              client: await deps.client(),
              taskQueue: deps.taskQueue,
              startTimeoutMs: 5_000,
            },
            {
              operatorId: operator.id,
              key: `webhook.test~${endpoint.id}~${randomBase62(12)}`,
              type: 'webhook.test',
              data: { endpointId: endpoint.id, message: 'A test delivery from affiliate-hooks.' },
              onlyEndpoint: endpoint,
            },
          );
        } catch (err) {
          if (err instanceof AppError) throw err;
          throw errors.unavailable('temporal');
        }
        return { status: 202, body: toDeliveryOut(emitted.deliveries[0]!) };
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
        const until = body.until ?? new Date().toISOString();
        let count = 0;
        let after: string | null = null;
        for (;;) {
          const batch = await failedDeliveryIds(
            deps.pool,
            operator.id,
            params.id,
            body.since,
            until,
            after,
            500,
          );
          if (!batch.length) break;
          after = batch[batch.length - 1]!.id;
          if (body.dryRun) {
            count += batch.length;
            continue;
          }
          count += await redriveBatch(deps, operator.id, batch);
        }
        return { status: 202, body: { count, dryRun: body.dryRun } };
      },
    }),
  ];
}

/** Reopens failed deliveries and wakes (or restarts) their event workflows, one signal per event. */
export async function redriveBatch(
  deps: Pick<EndpointRouteDeps, 'pool' | 'client' | 'taskQueue'>,
  operatorId: string,
  batch: { id: string; eventId: string; workflowId: string }[],
): Promise<number> {
  const reopened = await reopenFailedDeliveries(
    deps.pool,
    operatorId,
    batch.map((d) => d.id),
  );
  const byEvent = new Map<string, string[]>();
  for (const d of reopened) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d.id]);
  for (const [eventId, ids] of byEvent) {
    const event = (await findEvent(deps.pool, operatorId, eventId))!;
    try {
      const client = await deps.client();
      await boundedWait(
        redriveDeliveries(
          client,
          {
            workflowId: event.workflowId,
            taskQueue: deps.taskQueue,
            input: {
              operatorId,
              eventId,
              type: event.type as InboundEventType,
              customerId: event.customerId,
            },
          },
          ids,
        ),
        5_000,
        'the redrive',
      );
    } catch {
      // Leave nothing half-done: what could not be handed to Temporal goes back to failed.
      await deps.pool.query(
        `UPDATE deliveries SET status = 'failed', redrive_count = redrive_count - 1, completed_at = now()
          WHERE id = ANY($1) AND status = 'pending' AND attempt_count > 0`,
        [ids],
      );
      throw errors.unavailable('temporal');
    }
  }
  return reopened.length;
}
