import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { allRoutes } from '../../src/api/app.js';
import { buildOpenApi } from '../../src/api/openapi.js';
import { filterProblems } from '../../src/domain/routing-filter.js';
import { createLogger } from '../../src/log.js';

/** The endpoint filter as the OpenAPI document describes it agrees with the validator the API runs. */
describe('the OpenAPI description of endpoint filters', () => {
  const routes = allRoutes({
    pool: {} as never,
    accept: { client: async () => ({}) as never, start: { taskQueue: 'q', eager: false, timeoutMs: 1 } },
    logger: createLogger('silent'),
    delivery: {} as never,
    secretRotationGraceMs: 1,
    defaultTimeoutMs: 1,
  });
  const doc = buildOpenApi(routes, '1.0.0') as any;
  const schemas = doc.components.schemas;

  it('has the filter on create, change and read, the test-filter route, and the routing of a delivery', () => {
    const ref = { $ref: '#/components/schemas/EndpointFilter' };
    assert.deepEqual(schemas.EndpointIn.properties.filter, ref);
    assert.deepEqual(schemas.EndpointPatch.properties.filter, ref);
    assert.deepEqual(schemas.EndpointOut.properties.filter, ref);
    const route = doc.paths['/v1/endpoints/{id}/test-filter'].post;
    assert.equal(
      route.requestBody.content['application/json'].schema.$ref,
      '#/components/schemas/TestFilterIn',
    );
    assert.ok(route.responses['200'] && route.responses['404'] && route.responses['422']);
    assert.deepEqual(Object.keys(schemas.TestFilterOut.properties).sort(), ['filter', 'match', 'reasons']);
    const routing = schemas.DeliveryDetailOut.properties.routing;
    assert.ok(routing.properties.filter && routing.properties.reasons, 'a delivery says why it was routed');
  });

  it('accepts what the validator accepts, and refuses the shapes it refuses', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile({ components: { schemas }, $ref: '#/components/schemas/EndpointFilter' });
    const valid = [
      { field: 'brand', eq: 'casino-x' },
      { field: 'country', in: ['ES', 'PT'] },
      { field: 'attribution.subIds.sub3', prefix: 'fb' },
      { field: 'data.amount', gte: '20.00' },
      { field: 'data.phase', lt: 3 },
      { and: [{ field: 'brand', eq: 'x' }, { not: { or: [{ field: 'affiliateId', eq: 'a' }] } }] },
    ];
    const invalid = [
      { field: 'brandd', eq: 'x' },
      { field: 'data.amount', gt: 9.9 },
      { field: 'data.amount', gt: '1e3' },
      { field: 'country', equals: 'ES' },
      { field: 'country', in: [] },
      { field: 'brand', eq: 'a', prefix: 'b' },
      { and: [] },
      { not: { field: 'brand' } },
      'brand',
    ];
    for (const f of valid) {
      assert.deepEqual(filterProblems(f), [], JSON.stringify(f));
      assert.ok(validate(f), `${JSON.stringify(f)}: ${JSON.stringify(validate.errors)}`);
    }
    for (const f of invalid) {
      assert.notDeepEqual(filterProblems(f), [], JSON.stringify(f));
      assert.ok(!validate(f), `the schema refuses ${JSON.stringify(f)}`);
    }
  });
});
