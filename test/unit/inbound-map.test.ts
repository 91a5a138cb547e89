import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  isCanonicalPath,
  mappingProblems,
  mapPostback,
  type InboundMapping,
} from '../../src/ingest/inbound-map.js';

const casino: InboundMapping = {
  fieldMap: {
    event: 'type',
    player: 'customerId',
    amount: 'data.amount',
    cur: 'data.currency',
    txid: ['id', 'data.depositId'],
    aff: 'attribution.affiliateId',
    click: 'attribution.clickId',
    country: 'data.country',
    ts: 'occurredAt',
    phase: 'data.phase',
    challenge: 'data.challengeId',
  },
  statusMap: { ftd: 'deposit.completed', dep: 'deposit.completed', reg: 'customer.registered' },
  defaults: { 'data.currency': 'EUR', brand: 'casino-x' },
};
const received = new Date('2026-11-27T10:05:00.000Z');

function mapped(query: Record<string, string | string[]>, mapping = casino, at = received) {
  const result = mapPostback(query, mapping, at);
  if (!result.ok) assert.fail(`expected a mapped event, got ${JSON.stringify(result.issues)}`);
  return result;
}

function refused(query: Record<string, string | string[]>, mapping = casino) {
  const result = mapPostback(query, mapping, received);
  if (result.ok) assert.fail(`expected issues, got ${JSON.stringify(result.event)}`);
  return result.issues;
}

describe('a GET postback becomes a canonical event', () => {
  it('when event=ftd&player=..&amount=.., then the field map, status map and defaults make a deposit.completed', () => {
    const { event } = mapped({ event: 'ftd', player: 'p-42', amount: '50.00', txid: 'tx-9' });
    assert.deepEqual(event, {
      id: 'tx-9',
      type: 'deposit.completed',
      occurredAt: '2026-11-27T10:05:00.000Z',
      brand: 'casino-x',
      customerId: 'p-42',
      data: { depositId: 'tx-9', amount: '50.00', currency: 'EUR' },
    });
  });

  it('a query field beats the default for the same path', () => {
    const { event } = mapped({ event: 'ftd', player: 'p-42', amount: '50.00', txid: 'tx-9', cur: 'USD' });
    assert.equal((event.data as { currency: string }).currency, 'USD');
  });

  it('maps attribution, and a registration without it is refused by the same schema as POST /v1/events', () => {
    const { event } = mapped({
      event: 'reg',
      player: 'p-1',
      txid: 'r-1',
      aff: 'aff-7',
      click: 'c-1',
      country: 'DE',
    });
    assert.equal(event.type, 'customer.registered');
    assert.deepEqual(event.attribution, { affiliateId: 'aff-7', clickId: 'c-1' });

    const issues = refused({ event: 'reg', player: 'p-1', txid: 'r-2', country: 'DE' });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['attribution'],
    );
  });

  it('takes a canonical event type that is not in the status map as it is', () => {
    const { event } = mapped({ event: 'deposit.completed', player: 'p-1', amount: '5', txid: 't-1' });
    assert.equal(event.type, 'deposit.completed');
  });

  it('names the query field when a mapped value is invalid', () => {
    const issues = refused({ event: 'ftd', player: 'p-42', amount: '-5', txid: 'tx-9' });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'data.amount');
    assert.match(issues[0]!.message, /query field "amount"/);
  });

  it('refuses an event value that is neither in the status map nor an event type', () => {
    const issues = refused({ event: 'chargeback', player: 'p-42', amount: '5', txid: 'tx-9' });
    assert.equal(issues[0]!.path, 'type');
    assert.match(issues[0]!.message, /statusMap/);
    assert.match(issues[0]!.message, /query field "event"/);
  });

  it('refuses a postback without an id rather than inventing one (two deposits alike must not merge)', () => {
    const issues = refused({ event: 'ftd', player: 'p-42', amount: '50.00' });
    assert.ok(issues.some((i) => i.path === 'id'));
  });

  it('refuses a query field given more than once', () => {
    const issues = refused({ event: 'ftd', player: ['p-1', 'p-2'], amount: '5', txid: 't' });
    assert.deepEqual(issues, [{ path: 'query.player', message: 'given more than once' }]);
  });

  it('treats an empty value as absent, so the default stands', () => {
    const { event } = mapped({ event: 'ftd', player: 'p-42', amount: '50.00', txid: 'tx-9', cur: '' });
    assert.equal((event.data as { currency: string }).currency, 'EUR');
  });

  it('converts a numeric string where the schema wants a number (challenge phase)', () => {
    const mapping: InboundMapping = {
      fieldMap: {
        event: 'type',
        player: 'customerId',
        txid: 'id',
        challenge: 'data.challengeId',
        phase: 'data.phase',
      },
      statusMap: { passed: 'challenge.phase_passed' },
      defaults: {},
    };
    const { event } = mapped(
      { event: 'passed', player: 'p-1', txid: 'ph-1', challenge: 'ch-1', phase: '2' },
      mapping,
    );
    assert.deepEqual(event.data, { challengeId: 'ch-1', phase: 2 });
    const issues = refused(
      { event: 'passed', player: 'p-1', txid: 'ph-2', challenge: 'ch-1', phase: 'two' },
      mapping,
    );
    assert.equal(issues[0]!.path, 'data.phase');
  });

  it('ignores query fields the map does not name, and never reaches the prototype', () => {
    // As the query parser hands them over: own keys, even "__proto__".
    const query = JSON.parse(
      '{"event":"ftd","player":"p-42","amount":"1","txid":"t","__proto__":"x","constructor":"y","unknown":"z"}',
    );
    const { event } = mapped(query);
    assert.equal(Object.getPrototypeOf(event), Object.prototype);
    assert.equal(Object.keys(event).includes('unknown'), false);
  });
});

describe('occurredAt of a postback', () => {
  it('reads unix seconds and milliseconds', () => {
    const base = { event: 'ftd', player: 'p-1', amount: '1', txid: 't' };
    assert.equal(mapped({ ...base, ts: '1795774146' }).event.occurredAt, '2026-11-27T10:09:06.000Z');
    assert.equal(mapped({ ...base, ts: '1795774146123' }).event.occurredAt, '2026-11-27T10:09:06.123Z');
    assert.equal(mapped({ ...base, ts: '2026-11-27T09:00:00Z' }).event.occurredAt, '2026-11-27T09:00:00Z');
  });

  it('is the time of receipt when absent, and then a later retry of the same postback hashes the same', () => {
    const query = { event: 'ftd', player: 'p-1', amount: '1', txid: 't' };
    const first = mapped(query, casino, new Date('2026-11-27T10:00:00Z'));
    const retry = mapped(query, casino, new Date('2026-11-27T10:30:00Z'));
    assert.equal(first.occurredAtFromReceipt, true);
    assert.notEqual(first.event.occurredAt, retry.event.occurredAt);
    assert.equal(first.hash, retry.hash);
    const other = mapped({ ...query, amount: '2' }, casino, new Date('2026-11-27T10:00:00Z'));
    assert.notEqual(first.hash, other.hash);
  });

  it('is part of the hash when the sender gives it', () => {
    const query = { event: 'ftd', player: 'p-1', amount: '1', txid: 't' };
    const a = mapped({ ...query, ts: '1795774146' });
    const b = mapped({ ...query, ts: '1795774147' });
    assert.notEqual(a.hash, b.hash);
  });
});

describe('what a mapping may say', () => {
  it('writes only canonical paths', () => {
    for (const ok of [
      'id',
      'type',
      'occurredAt',
      'customerId',
      'brand',
      'attribution.affiliateId',
      'attribution.clickId',
      'attribution.subIds.sub1',
      'attribution.subIds.sub10',
      'data.amount',
    ]) {
      assert.ok(isCanonicalPath(ok), ok);
    }
    for (const bad of [
      'data',
      'data.a.b',
      'data.__proto__',
      'data.constructor',
      'attribution',
      'attribution.subIds.sub11',
      'payload',
      'status',
      '',
    ]) {
      assert.equal(isCanonicalPath(bad), false, bad);
    }
  });

  it('refuses two query fields writing one path, and a status map with nothing to apply to', () => {
    assert.deepEqual(mappingProblems(casino), []);
    const problems = mappingProblems({
      fieldMap: { player: 'customerId', user: 'customerId' },
      statusMap: { ftd: 'deposit.completed' },
      defaults: {},
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['fieldMap.user', 'statusMap'],
    );
    assert.deepEqual(
      mappingProblems({ fieldMap: {}, statusMap: { ftd: 'deposit.completed' }, defaults: { type: 'ftd' } }),
      [],
    );
  });
});

describe('field maps and defaults apply per event type', () => {
  it("a registration gets no deposit's fields: data paths another type declares stay with that type", () => {
    const { event } = mapped({
      event: 'reg',
      player: 'p-1',
      txid: 'r-1',
      aff: 'aff-7',
      country: 'DE',
      amount: '',
    });
    assert.deepEqual(event.data, { country: 'DE' });
    const deposit = mapped({ event: 'ftd', player: 'p-1', txid: 't-1', amount: '5.00', country: 'DE' }).event;
    assert.deepEqual(deposit.data, { depositId: 't-1', amount: '5.00', currency: 'EUR' });
  });

  it("a data field no event type declares is the operator's own and reaches every type", () => {
    const mapping: InboundMapping = { ...casino, fieldMap: { ...casino.fieldMap, camp: 'data.campaign' } };
    const reg = mapped(
      { event: 'reg', player: 'p-1', txid: 'r-1', aff: 'a', country: 'DE', camp: 'x' },
      mapping,
    );
    const dep = mapped({ event: 'ftd', player: 'p-1', txid: 't-1', amount: '5', camp: 'x' }, mapping);
    assert.equal((reg.event.data as { campaign?: string }).campaign, 'x');
    assert.equal((dep.event.data as { campaign?: string }).campaign, 'x');
  });

  it('a field the type requires and nothing gives says how to give it', () => {
    const issues = refused({ event: 'reg', player: 'p-1', txid: 'r-1', aff: 'aff-7' });
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0]!.path, 'data.country');
    assert.match(issues[0]!.message, /customer\.registered/);
    assert.match(issues[0]!.message, /no query field .*fieldMap.*defaults/);
  });

  it('a wrong value names the query field it came from', () => {
    const issues = refused({ event: 'reg', player: 'p-1', txid: 'r-1', aff: 'aff-7', country: 'Germany' });
    assert.deepEqual(
      issues.map((i) => [i.path, /query field "country"/.test(i.message)]),
      [['data.country', true]],
    );
  });
});

describe("the README's GET postback example, run as written", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('**GET postbacks**'));
  const mapping = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as InboundMapping;
  const urls = [
    ...section
      .slice(0, section.indexOf('## '))
      .matchAll(/`GET \/v1\/inbound\/src_\.\.\.\/srctok_\.\.\.\?([^`]+)`/g),
  ];

  it('has a mapping the API accepts and at least a deposit and a registration to send', () => {
    assert.deepEqual(mappingProblems(mapping), []);
    assert.ok(urls.length >= 2, `found ${urls.length} example URLs`);
  });

  it('maps every example URL to a valid event', () => {
    const types = urls.map(([, query]) => {
      const result = mapPostback(Object.fromEntries(new URLSearchParams(query!)), mapping, received);
      assert.ok(result.ok, `${query}: ${JSON.stringify(!result.ok && result.issues)}`);
      return result.event.type;
    });
    assert.ok(types.includes('deposit.completed') && types.includes('customer.registered'), types.join());
  });
});
