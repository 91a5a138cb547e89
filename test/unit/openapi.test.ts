import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allRoutes } from '../../src/api/app.js';
import { buildOpenApi } from '../../src/api/openapi.js';
import { createLogger } from '../../src/log.js';

describe('the OpenAPI description', () => {
  const routes = allRoutes({
    pool: {} as never,
    accept: { client: async () => ({}) as never, start: { taskQueue: 'q', eager: false, timeoutMs: 1 } },
    logger: createLogger('silent'),
    delivery: {} as never,
    secretRotationGraceMs: 1,
    defaultTimeoutMs: 1,
  });
  const doc = buildOpenApi(routes, '1.0.0') as any;

  it('is generated from the same route definitions Express mounts', () => {
    for (const r of routes) assert.ok(doc.paths[r.path]?.[r.method], `${r.method} ${r.path} is described`);
    for (const path of ['/v1/endpoints', '/v1/endpoints/{id}/rotate-secret', '/v1/deliveries/{id}/retry']) {
      assert.ok(doc.paths[path], `${path} is described`);
    }
  });

  it('describes the event body from the zod schema, with every event type', () => {
    const body = doc.paths['/v1/events'].post.requestBody.content['application/json'].schema;
    assert.equal(body.$ref, '#/components/schemas/EventIn');
    const schema = JSON.stringify(doc.components.schemas.EventIn);
    for (const type of [
      'customer.registered',
      'deposit.completed',
      'trade.closed',
      'funded_account.activated',
    ]) {
      assert.ok(schema.includes(type), `${type} appears`);
    }
    assert.ok(doc.paths['/v1/events'].post.responses['409']);
  });
});
