import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { EVENT_DETAILS_SCHEMAS } from '../../src/contract/emitted-events.js';
import { ALL_EVENT_TYPES } from '../../src/domain/event-types.js';
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

  /** A schema with its top-level `$ref` followed into the components. */
  const resolved = (schema: any): any =>
    schema?.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;

  it('describes what an endpoint receives for every event type, sent or emitted, with its data fields', () => {
    assert.ok(doc.webhooks, 'the document has webhooks');
    for (const type of ALL_EVENT_TYPES) {
      const hook = doc.webhooks[type]?.post;
      assert.ok(hook, `${type} is described under webhooks`);
      const body = resolved(hook.requestBody.content['application/json'].schema);
      assert.deepEqual(body.properties.type.const ?? body.properties.type.enum?.[0], type, type);
      const details = resolved(body.properties.data.properties.details);
      const fields = Object.keys((EVENT_DETAILS_SCHEMAS[type] as z.ZodObject).shape);
      assert.ok(fields.length > 0, type);
      for (const field of fields) assert.ok(details.properties?.[field], `${type}: data.details.${field}`);
    }
  });

  it('describes exchange rates: the routes, their refusals, the rates a commission used, a waiting evaluation', () => {
    const put = doc.paths['/v1/fx-rates/{date}'].put;
    assert.equal(
      resolved(put.requestBody.content['application/json'].schema),
      doc.components.schemas.FxRatesIn,
    );
    assert.match(put.responses['409'].description, /^`fx_rate_used`: /);
    assert.ok(put.responses['422']);
    assert.ok(doc.paths['/v1/fx-rates/{date}'].get && doc.paths['/v1/fx-rates'].get);
    assert.ok(doc.components.schemas.CommissionOut.properties.fx, 'a commission shows its rates');
    const evaluation = doc.components.schemas.EventEvaluation.properties;
    assert.ok(evaluation.outcome.enum.includes('pending'));
    assert.ok(evaluation.reason.enum.includes('fx_rate_missing'));
  });

  it('states one decision rule for commissions, as the README does', () => {
    const approve = doc.paths['/v1/commissions/{id}/approve'].post.responses;
    const reject = doc.paths['/v1/commissions/{id}/reject'].post.responses;
    for (const responses of [approve, reject]) {
      assert.match(responses['200'].description, /the same decision again changes nothing/);
      assert.match(responses['409'].description, /^`commission_not_pending`: /);
    }
    assert.match(approve['409'].description, /rejected/);
    assert.match(reject['409'].description, /approved/);
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    assert.doesNotMatch(readme, /\(`409` once decided\)/);
    assert.match(readme, /the same decision again answers `200` and changes nothing/);
  });
});
