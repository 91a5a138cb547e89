/**
 * JSON nesting depth (issue #11, item 6): a body nesting arrays or objects deeper than MAX_JSON_DEPTH is
 * refused with `422` in the error shape, before anything walks it recursively, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../../src/api/json-depth.js';
import { deposit, uniqueId } from '../support/factories.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
});

/** `levels` arrays (or objects under the key "k") nested inside each other, as raw JSON text. */
function nested(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(levels)}${']'.repeat(levels)}`
    : `${'{"k":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

/** A deposit whose `data.extra` is `inner` (raw JSON): the body's depth is 2 + the depth of `inner`. */
function depositWith(inner: string): { id: string; body: string } {
  const event = deposit(uniqueId('player'));
  const json = JSON.stringify({ ...event, data: { ...event.data, extra: '@@' } });
  return { id: event.id, body: json.replace('"@@"', inner) };
}

const post = (path: string, body: string, apiKey: string | undefined = op.apiKey) =>
  sys.request('POST', path, { apiKey, rawBody: body, headers: { 'content-type': 'application/json' } });

async function storedEvents(...ids: string[]): Promise<number> {
  const { rows } = await sys.pool.query(
    'SELECT count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = ANY($2)',
    [op.id, ids],
  );
  return rows[0].n;
}

function assertTooDeep(res: { status: number; body: any }) {
  assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 500));
  assert.equal(res.body.error.code, 'validation_failed');
  assert.match(res.body.error.message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
  assert.equal(res.body.error.details.length, 1);
  assert.match(res.body.error.details[0].message, new RegExp(`${MAX_JSON_DEPTH}`));
}

describe('when a body nests deeper than the limit', () => {
  for (const kind of ['array', 'object'] as const) {
    it(`POST /v1/events with 20,000 nested ${kind}s in data answers 422 and stores nothing`, async () => {
      const event = depositWith(nested(20_000, kind));
      assertTooDeep(await post('/v1/events', event.body));
      assert.equal(await storedEvents(event.id), 0);
    });
  }

  it('names the path where the limit is crossed', async () => {
    const event = depositWith(nested(100, 'object'));
    const res = await post('/v1/events', event.body);
    assertTooDeep(res);
    // The body is level 1, data level 2, extra level 3: the key of each level's child down to the limit.
    const path = ['data', 'extra', ...Array.from({ length: MAX_JSON_DEPTH - 2 }, () => 'k')].join('.');
    assert.equal(res.body.error.details[0].path, path);
  });

  it('accepts a body exactly at the limit and refuses one level more', async () => {
    const at = depositWith(nested(MAX_JSON_DEPTH - 2, 'array'));
    const res = await post('/v1/events', at.body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const over = depositWith(nested(MAX_JSON_DEPTH - 1, 'array'));
    assertTooDeep(await post('/v1/events', over.body));
    assert.equal(await storedEvents(at.id, over.id), 1);
  });

  it('POST /v1/events/batch refuses the whole batch and stores none of it', async () => {
    const fine = depositWith('1');
    const deep = depositWith(nested(20_000, 'array'));
    assertTooDeep(await post('/v1/events/batch', `{"events":[${fine.body},${deep.body}]}`));
    assert.equal(await storedEvents(fine.id, deep.id), 0);
  });

  it('an inbound source refuses it too, and stores nothing', async () => {
    const created = await sys.request('POST', '/v1/sources', {
      apiKey: op.apiKey,
      json: { name: `source ${uniqueId('s')}`, verification: { type: 'token' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deep = depositWith(nested(20_000, 'object'));
    const res = await post(`/v1/inbound/${created.body.id}/${created.body.secret}`, deep.body, undefined);
    assertTooDeep(res);
    assert.equal(await storedEvents(deep.id), 0);
  });

  it('an endpoint body is refused the same way', async () => {
    const res = await post(
      '/v1/endpoints',
      `{"url":"https://example.com/hook","eventTypes":["deposit.completed"],"headers":${nested(20_000, 'array')}}`,
    );
    assertTooDeep(res);
  });
});
