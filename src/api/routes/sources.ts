import { z } from 'zod';
import { randomBase62 } from '../../db/new-id.js';
import type { Pool } from '../../db/pool.js';
import {
  deleteSource,
  findSource,
  insertSource,
  listSources,
  newSourceId,
  rotateSourceSecret,
  updateSource,
  type Source,
  type SourceFields,
  type SourceVerification,
} from '../../db/sources.js';
import type { DeliveryRuntime } from '../../delivery/deps.js';
import { listInboundRequests } from '../../db/inbound-requests.js';
import { generateWebhookSecret } from '../../delivery/secrets.js';
import { mappingProblems } from '../../ingest/inbound-map.js';
import { decodeCursor, page } from '../cursor.js';
import { AppError, errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import { ListQuery } from '../schemas/endpoints.js';
import {
  inboundUrl,
  SourceIn,
  SourceOut,
  SourcePatch,
  InboundRequestOut,
  SourceSecretOut,
  toSourceOut,
} from '../schemas/sources.js';

export interface SourceRouteDeps {
  pool: Pool;
  /** Only its cipher is used: source secrets are sealed like endpoint secrets, bound to the source id. */
  delivery: Pick<DeliveryRuntime, 'cipher'>;
  secretRotationGraceMs: number;
}

/** Prefix of the secret token a token source carries in its URL path. */
export const SOURCE_TOKEN_PREFIX = 'srctok_';

/** A new token: the prefix (so secret scanners can spot one) and 40 base62 characters (~238 bits). */
export function generateSourceToken(): string {
  return SOURCE_TOKEN_PREFIX + randomBase62(40);
}

function newSecret(verification: SourceVerification): string {
  return verification === 'hmac' ? generateWebhookSecret() : generateSourceToken();
}

const notFound = { description: 'No such source for this operator', schema: ErrorOut };
const IdParams = z.object({ id: z.string().regex(/^src_[A-Za-z0-9]{1,40}$/, 'a source id') });

function checkMapping(mapping: Pick<SourceFields, 'fieldMap' | 'statusMap' | 'defaults'>): void {
  const problems = mappingProblems(mapping);
  if (problems.length) {
    throw new AppError(422, 'validation_failed', 'The request does not match the schema.', problems);
  }
}

export function sourceRoutes(deps: SourceRouteDeps) {
  const mustFind = async (operatorId: string, id: string) => {
    const source = await findSource(deps.pool, operatorId, id);
    if (!source) throw errors.notFound(`Source ${id}`);
    return source;
  };

  return [
    createSourceRoute(deps),
    defineRoute({
      method: 'get',
      path: '/v1/sources',
      summary: "List the operator's inbound sources, newest first",
      auth: 'operator',
      query: ListQuery,
      responses: { 200: { description: '{data, nextCursor}' } },
      handler: async ({ query, operator }) => {
        const rows = await listSources(deps.pool, operator.id, query.limit + 1, decodeCursor(query.cursor));
        return { status: 200, body: page(rows, query.limit, (s) => toSourceOut(s)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/sources/{id}',
      summary: 'An inbound source (without its secret)',
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: 'The source', schema: SourceOut }, 404: notFound },
      handler: async ({ params, operator }) => ({
        status: 200,
        body: toSourceOut(await mustFind(operator.id, params.id)),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/sources/{id}',
      summary: "Change a source's name, IP allowlist or postback mapping; null clears",
      auth: 'operator',
      params: IdParams,
      body: SourcePatch,
      responses: {
        200: { description: 'The source', schema: SourceOut },
        404: notFound,
        422: { description: 'Invalid change', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        const current = await mustFind(operator.id, params.id);
        const patch: Partial<SourceFields> = {
          name: body.name,
          ipAllowlist: body.ipAllowlist === null ? [] : body.ipAllowlist,
          fieldMap: body.fieldMap === null ? {} : body.fieldMap,
          statusMap: body.statusMap === null ? {} : body.statusMap,
          defaults: body.defaults === null ? {} : body.defaults,
        };
        checkMapping({
          fieldMap: patch.fieldMap ?? current.fieldMap,
          statusMap: patch.statusMap ?? current.statusMap,
          defaults: patch.defaults ?? current.defaults,
        });
        const source = await updateSource(deps.pool, operator.id, params.id, patch);
        if (!source) throw errors.notFound(`Source ${params.id}`);
        return { status: 200, body: toSourceOut(source) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/sources/{id}',
      summary: 'Delete a source; every request naming it is refused from now on',
      auth: 'operator',
      params: IdParams,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      handler: async ({ params, operator }) => {
        if (!(await deleteSource(deps.pool, operator.id, params.id)))
          throw errors.notFound(`Source ${params.id}`);
        return { status: 204 };
      },
    }),
    rotateSecretRoute(deps, mustFind),
    requestsRoute(deps, mustFind),
  ];
}

function createSourceRoute(deps: SourceRouteDeps) {
  return defineRoute({
    method: 'post',
    path: '/v1/sources',
    summary: 'Create an inbound source; the answer carries its secret (whsec_ or token), shown once',
    auth: 'operator',
    body: SourceIn,
    responses: {
      201: { description: 'Created', schema: SourceOut },
      401: { description: 'Missing or wrong API key', schema: ErrorOut },
      422: { description: 'Invalid source', schema: ErrorOut },
    },
    handler: async ({ body, operator }) => {
      const fields: SourceFields = {
        name: body.name,
        ipAllowlist: body.ipAllowlist ?? [],
        fieldMap: body.fieldMap ?? {},
        statusMap: body.statusMap ?? {},
        defaults: body.defaults ?? {},
      };
      checkMapping(fields);
      const id = newSourceId();
      const verification = body.verification.type;
      const secret = newSecret(verification);
      const source = await insertSource(
        deps.pool,
        operator.id,
        id,
        verification,
        fields,
        deps.delivery.cipher.encrypt(secret, id),
      );
      return { status: 201, body: toSourceOut(source, secret) };
    },
  });
}

function rotateSecretRoute(
  deps: SourceRouteDeps,
  mustFind: (operatorId: string, id: string) => Promise<Source>,
) {
  return defineRoute({
    method: 'post',
    path: '/v1/sources/{id}/rotate-secret',
    summary: 'Make a new secret; the old one keeps verifying beside it for the grace period',
    auth: 'operator',
    params: IdParams,
    responses: { 200: { description: 'The new secret', schema: SourceSecretOut }, 404: notFound },
    handler: async ({ params, operator }) => {
      const current = await mustFind(operator.id, params.id);
      const secret = newSecret(current.verification);
      const source = await rotateSourceSecret(
        deps.pool,
        operator.id,
        params.id,
        deps.delivery.cipher.encrypt(secret, params.id),
        deps.secretRotationGraceMs,
      );
      if (!source) throw errors.notFound(`Source ${params.id}`);
      const latest = Math.max(...source.previousSecrets.map((s) => Date.parse(s.expiresAt)));
      return {
        status: 200,
        body: {
          secret,
          inboundUrl: inboundUrl(source, secret),
          previousSecretExpiresAt: Number.isFinite(latest) ? new Date(latest).toISOString() : null,
        },
      };
    },
  });
}

function requestsRoute(deps: SourceRouteDeps, mustFind: (operatorId: string, id: string) => Promise<Source>) {
  return defineRoute({
    method: 'get',
    path: '/v1/sources/{id}/requests',
    summary:
      "The source's requests of the last 7 days, newest first: accepted or refused and why (never a token, signature or body)",
    auth: 'operator',
    params: IdParams,
    query: ListQuery,
    responses: {
      200: {
        description: '{data, nextCursor} of InboundRequestOut',
        schema: z.object({ data: z.array(InboundRequestOut), nextCursor: z.string().nullable() }),
      },
      404: notFound,
    },
    handler: async ({ params, query, operator }) => {
      await mustFind(operator.id, params.id);
      const rows = await listInboundRequests(
        deps.pool,
        operator.id,
        params.id,
        query.limit + 1,
        decodeCursor(query.cursor),
      );
      return {
        status: 200,
        body: page(rows, query.limit, (r) => ({
          id: r.id,
          receivedAt: r.createdAt.toISOString(),
          method: r.method,
          ip: r.ip,
          status: r.status,
          outcome: r.status < 400 ? ('accepted' as const) : ('refused' as const),
          reason: r.reason,
          eventIds: r.eventIds,
        })),
      };
    },
  });
}
