/**
 * The README's examples, taken from README.md itself and run in the order a new user meets them, against
 * the real API, Temporal and PostgreSQL: a README edit that breaks an example fails here, and so does a
 * code change that makes the README wrong. Only what cannot work on a test machine is substituted, and
 * each substitution is named where it is made: the API's address (`http://127.0.0.1:3000`), `$API_KEY`, the
 * ids the README elides (`src_...`, `srctok_...`), and the example receivers' URLs (`tracker.example`,
 * which does not resolve here), which point at a local receiver instead.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../support/eventually.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

interface Block {
  /** The fence's info string (`sh`, `json`, or empty). */
  lang: string;
  text: string;
  /** README text from the end of this block to the next heading: what the README says right after it. */
  after: string;
}

/** Every fenced block of the README, indented ones (inside list items) included. */
function blocks(): Block[] {
  const out: Block[] = [];
  const fence = /^( *)```(\w*)\n([\s\S]*?)^\1```$/gm;
  for (const m of README.matchAll(fence)) {
    const indent = m[1]!.length;
    const text = m[3]!
      .split('\n')
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    const rest = README.slice(m.index! + m[0].length);
    out.push({ lang: m[2]!, text, after: rest.slice(0, rest.search(/^#/m) >>> 0) });
  }
  return out;
}

/** The one block that contains `marker`; fails, naming the marker, if the README has none or several. */
function block(marker: string): Block {
  const found = blocks().filter((b) => b.text.includes(marker));
  assert.equal(found.length, 1, `README has exactly one code block containing ${JSON.stringify(marker)}`);
  return found[0]!;
}

/** A `curl` example: its method, path and JSON body, and the answer its `# ...` comment documents. */
function curl(b: Block) {
  const command = b.text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const url = /curl .*?-X (\w+) http:\/\/127\.0\.0\.1:3000(\/\S+)/.exec(command);
  assert.ok(url, `a curl command in ${b.text}`);
  const body = /-d '([\s\S]*?)'/.exec(command);
  assert.ok(body, `a -d '...' body in ${b.text}`);
  assert.match(command, /-H "Authorization: Bearer \$API_KEY"/);
  const comment = b.text
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => l.replace(/^# ?/, ''))
    .join(' ');
  const answer = comment ? /^(\d{3})?\s*(\{[\s\S]*\})$/.exec(comment.trim()) : null;
  assert.ok(!comment || answer, `a documented answer in ${b.text}`);
  return {
    method: url[1]!,
    path: url[2]!,
    body: JSON.parse(body[1]!) as Record<string, unknown>,
    status: answer?.[1] ? Number(answer[1]) : undefined,
    answer: answer ? documentedJson(answer[2]!) : undefined,
  };
}

/** A documented JSON answer: `, ...}` and `,...,` mean "and more fields", which JSON cannot say. */
function documentedJson(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/,\s*\.\.\.\s*\}/g, '}').replace(/,\s*\.\.\.\s*,/g, ',')) as Record<
    string,
    unknown
  >;
}

/**
 * A documented excerpt of an answer (`"derived":...,"evaluation":[...]`), wrapped over lines as the README
 * wraps it: lines joined with one space (the README wraps strings at a space), read as one object.
 */
function excerpt(b: Block): Record<string, unknown> {
  const joined = b.text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return documentedJson(`{${joined}}`);
}

/**
 * That `actual` has what `documented` shows: every documented field, equal, where a documented string with
 * `...` in it stands for any text at that place (`op_...`, `event:op_...:evt-demo-1`).
 */
function assertShows(actual: unknown, documented: unknown, path = '$'): void {
  if (typeof documented === 'string' && documented.includes('...')) {
    const pattern = documented
      .split('...')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.+');
    assert.match(String(actual), new RegExp(`^${pattern}$`), `${path} as documented`);
  } else if (Array.isArray(documented)) {
    assert.ok(Array.isArray(actual), `${path} is an array`);
    assert.equal(actual.length, documented.length, `${path} has ${documented.length} items`);
    documented.forEach((d, i) => assertShows(actual[i], d, `${path}[${i}]`));
  } else if (documented && typeof documented === 'object') {
    assert.ok(actual && typeof actual === 'object', `${path} is an object`);
    for (const [k, v] of Object.entries(documented))
      assertShows((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, documented, `${path} as documented`);
  }
}

let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator('README walkthrough');
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

const api = (method: string, path: string, json?: unknown) =>
  sys.request(method, path, { apiKey: op.apiKey, json });

describe('the README, run in order', () => {
  let endpointSecret: string;

  it('"Send an event with curl": the registration is accepted with the documented answer', async () => {
    const ex = curl(block('http://127.0.0.1:3000/v1/events'));
    const res = await api(ex.method, ex.path, ex.body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assertShows(res.body, ex.answer);
  });

  it('"Sources": the curl creates an hmac source with the documented answer', async () => {
    const ex = curl(block('http://127.0.0.1:3000/v1/sources'));
    const res = await api(ex.method, ex.path, ex.body);
    assert.equal(res.status, ex.status, JSON.stringify(res.body));
    assertShows(res.body, ex.answer);
  });

  it('"GET postbacks": the mapping, saved on a token source, turns both documented GETs into the documented events', async () => {
    const b = block('"fieldMap"');
    const mapping = JSON.parse(b.text) as Record<string, unknown>;
    const created = await api('POST', '/v1/sources', {
      name: 'Tracker postbacks',
      verification: { type: 'token' },
      ...mapping,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const inboundUrl = created.body.inboundUrl as string;
    assert.match(inboundUrl, /^\/v1\/inbound\/src_[A-Za-z0-9]+\/srctok_[A-Za-z0-9_-]+$/);
    // Substituted: the README elides the source id and its token.
    const gets = [...b.after.matchAll(/`GET (\/v1\/inbound\/src_\.\.\.\/srctok_\.\.\.\?[^`]+)`/g)].map((m) =>
      m[1]!.replace('/v1/inbound/src_.../srctok_...', inboundUrl),
    );
    assert.equal(gets.length, 2, 'the README shows two GET postbacks after the mapping');
    for (const path of gets) {
      const res = await sys.request('GET', path);
      assert.equal(res.status, 202, `${path}: ${JSON.stringify(res.body)}`);
    }
    // What the README says they become.
    const reg = await api('GET', '/v1/events/reg-42');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.type, 'customer.registered');
    assert.equal(reg.body.attribution?.affiliateId, 'aff-7');
    assert.equal(reg.body.data.depositId, undefined, 'the registration gets no depositId');
    assert.equal(reg.body.data.currency, undefined, 'the registration gets no currency');
    assert.equal(reg.body.data.country, 'DE');
    const dep = await api('GET', '/v1/events/tx-9');
    assert.equal(dep.status, 200, JSON.stringify(dep.body));
    assert.equal(dep.body.type, 'deposit.completed');
    assert.equal(dep.body.data.depositId, 'tx-9');
    assert.equal(dep.body.data.amount, '50.00');
    assert.equal(dep.body.data.currency, 'EUR', 'from the defaults');
    assert.equal(dep.body.brand, 'casino-x', 'from the defaults');
  });

  it('"Webhooks out": the documented endpoint is created as shown', async () => {
    const body = JSON.parse(block('"url": "https://tracker.example/hooks"').text) as Record<string, unknown>;
    // Substituted: tracker.example does not resolve here; the local receiver stands in for it.
    const res = await api('POST', '/v1/endpoints', { ...body, url: rx.url('/hooks') });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { url: _url, ...rest } = body;
    assertShows(res.body, rest);
    assert.match(res.body.secret, /^whsec_/);
    endpointSecret = res.body.secret as string;
  });

  it('"Webhooks out": a first deposit of player-42 arrives as the documented deposit.ftd, signed as documented', async () => {
    const example = block('"type":"deposit.ftd"');
    const [head, json] = example.text.split(/\n\n/);
    const documented = JSON.parse(json!) as {
      type: string;
      timestamp: string;
      data: { eventId: string; occurredAt: string; customerId: string; details: Record<string, unknown> };
    };
    // The event the documented body is of, sent as the curl example sends events.
    const sent = await api('POST', '/v1/events', {
      id: documented.data.eventId,
      type: 'deposit.completed',
      occurredAt: documented.data.occurredAt,
      customerId: documented.data.customerId,
      data: documented.data.details,
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const [got] = await rx.waitFor('/hooks', 1, 30_000);
    assert.deepEqual(JSON.parse(got!.body), documented, 'the body, field for field');
    assert.equal(
      rx.requests('/hooks').length,
      1,
      'only deposit.ftd: the endpoint does not subscribe to deposit.completed',
    );
    // The headers the README lists, and the signature a receiver checks with the official library.
    assert.match(head!, /webhook-id: dlv_/);
    assert.match(String(got!.headers['webhook-id']), /^dlv_/);
    assert.equal(got!.headers['x-partner'], '7', 'the endpoint\'s "headers"');
    assert.doesNotThrow(() =>
      new Webhook(endpointSecret).verify(got!.body, {
        'webhook-id': String(got!.headers['webhook-id']),
        'webhook-timestamp': String(got!.headers['webhook-timestamp']),
        'webhook-signature': String(got!.headers['webhook-signature']),
      }),
    );
  });

  it('"Postback endpoints": the documented postback endpoint is created', async () => {
    const body = JSON.parse(block('"url": "https://tracker.example/postback"').text) as Record<
      string,
      unknown
    >;
    // Substituted: tracker.example does not resolve here.
    const res = await api('POST', '/v1/endpoints', { ...body, url: rx.url('/postback') });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { url: _url, ...rest } = body;
    assertShows(res.body, rest);
  });

  it('"Commissions": the presets\' example done literally waits for a rate, then earns the CPA at the rate the README sets, explained word for word', async () => {
    // An operator of its own, so that the README's ids (aff-7, player-42, evt-1) are this example's alone.
    const other = await sys.createOperator('README commissions');
    const call = (method: string, path: string, json?: unknown) =>
      sys.request(method, path, { apiKey: other.apiKey, json });
    const waiting = excerpt(block('"reason":"fx_rate_missing"'));
    const earned = excerpt(block('"fx":[{"from":"EUR"'));
    // The deal the README describes in words: a CPA of 100.00 USD with `minFirstDeposit` "50.00".
    const deal = {
      model: 'cpa',
      amount: '100.00',
      currency: 'USD',
      qualification: { minFirstDeposit: '50.00' },
      holdPeriod: '30d',
      clawbackWindow: '90d',
    };
    const put = await call('PUT', '/v1/affiliates/aff-7', { name: 'Affiliate 7', deal });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const registration = curl(block('http://127.0.0.1:3000/v1/events'));
    assert.equal((await call('POST', '/v1/events', registration.body)).status, 202);
    // The first deposit of 50.00 EUR, on the day and at the time the documented explanation names.
    const at = /every condition held at (\S+) \(event (\S+)\)/.exec(JSON.stringify(earned));
    assert.ok(at, 'the earned explanation names the moment and the event');
    const deposit = {
      id: at[2],
      type: 'deposit.completed',
      occurredAt: at[1],
      customerId: registration.body.customerId,
      data: { depositId: 'dep-1', amount: '50.00', currency: 'EUR' },
    };
    assert.equal((await call('POST', '/v1/events', deposit)).status, 202);
    const before = await eventually('the deposit explained', async () => {
      const res = await call('GET', `/v1/events/${deposit.id}`);
      return res.body.evaluation ? res.body : undefined;
    });
    assertShows(before, waiting);
    // The curl of "Exchange rates", as written.
    const rate = curl(block('http://127.0.0.1:3000/v1/fx-rates/'));
    const set = await call(rate.method, rate.path, rate.body);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const after = await eventually('the CPA booked', async () => {
      const res = await call('GET', `/v1/events/${deposit.id}`);
      return res.body.commissions?.length && res.body.evaluation?.[0]?.outcome === 'earned'
        ? res.body
        : undefined;
    });
    assertShows(after, earned);
  });

  it('every event the walkthrough sent was processed', async () => {
    for (const id of ['evt-demo-1', 'reg-42', 'tx-9', 'evt-1']) {
      const status = await eventually(`${id} processed`, async () => {
        const res = await api('GET', `/v1/events/${id}`);
        return res.body.status === 'processed' ? res.body.status : undefined;
      });
      assert.equal(status, 'processed');
    }
  });
});
