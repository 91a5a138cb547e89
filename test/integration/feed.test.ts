/**
 * The catch-up feed (issue 17 item 2): `GET /v1/feed` lists every event emitted to the operator's
 * receivers, as the webhook body each carries, in an order that never changes, after a cursor that never
 * skips or repeats an item, also while events are being written, and also when a transaction that wrote
 * an item commits after later ones did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeFeedCursor } from '../../src/api/cursor.js';
import { recordEmittedEvent } from '../../src/db/events.js';
import { deleteExpiredEvents, type Cursor } from '../../src/db/retention.js';
import { COMMISSION_EVENT_TYPES } from '../../src/domain/commission/facts.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { eventually } from '../support/eventually.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

let sys: System;
let rx: Receiver;

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

interface Item {
  cursor: string;
  emittedAt: string;
  payload: { type: string; data: { eventId: string; attribution: { affiliateId?: string } | null } };
}
interface FeedAnswer {
  data: Item[];
  nextCursor: string;
  hasMore: boolean;
  retention: { eventsKeptFor: string; oldestItemAt: string | null; gap: boolean };
}

type Operator = { id: string; apiKey: string };

async function feed(op: Operator, query: string): Promise<FeedAnswer> {
  const res = await sys.request('GET', `/v1/feed${query}`, { apiKey: op.apiKey });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as FeedAnswer;
}

/** Every item from the start, in one read. */
async function all(op: Operator, filter = ''): Promise<Item[]> {
  const page = await feed(op, `?limit=500${filter}`);
  assert.equal(page.hasMore, false);
  return page.data;
}

const key = (i: Item) => `${i.payload.data.eventId}/${i.payload.type}`;

async function send(op: Operator, event: Record<string, unknown>) {
  const res = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: event });
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

/** A customer's registration (attributed to `affiliateId`) and first deposit: three items in the feed. */
async function customer(op: Operator, affiliateId = 'aff-7'): Promise<string[]> {
  const customerId = uniqueId('player');
  const reg = registration(customerId, { attribution: { affiliateId, clickId: uniqueId('c') } });
  const dep = deposit(customerId);
  await send(op, reg);
  await send(op, dep);
  return [`${reg.id}/customer.registered`, `${dep.id}/deposit.completed`, `${dep.id}/deposit.ftd`];
}

/** Waits until the operator's whole feed holds exactly these items. */
async function settled(op: Operator, expected: string[]): Promise<Item[]> {
  const want = [...expected].sort().join();
  return eventually(
    'every event in the feed',
    async () => {
      const items = await all(op);
      return items.map(key).sort().join() === want ? items : undefined;
    },
    60_000,
  );
}

describe('GET /v1/feed', () => {
  it('when a reader pages with small limits while events are written, then it gets every item exactly once, in the feed’s order', async () => {
    const op = await sys.createOperator('feed paging');
    const expected: string[] = [];
    for (let i = 0; i < 6; i++) expected.push(...(await customer(op)));

    let writing = true;
    const writer = (async () => {
      try {
        for (let i = 0; i < 10; i++) expected.push(...(await customer(op)));
      } finally {
        writing = false;
      }
    })();
    const seen: Item[] = [];
    let cursor: string | null = null;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const page = await feed(op, `?limit=4${cursor ? `&after=${cursor}` : ''}`);
      assert.ok(page.data.length <= 4);
      seen.push(...page.data);
      cursor = page.nextCursor;
      const done = !writing && !page.hasMore && seen.length >= expected.length;
      if (done || Date.now() > deadline) break;
      if (!page.hasMore) await new Promise((r) => setTimeout(r, 50));
    }
    await writer;

    const keys = seen.map(key);
    assert.equal(new Set(keys).size, keys.length, 'no item repeated');
    assert.deepEqual([...keys].sort(), [...expected].sort(), 'every item, nothing else');
    const whole = await all(op);
    assert.deepEqual(keys, whole.map(key), 'in the order a single read lists them');
    assert.deepEqual((await all(op)).map(key), whole.map(key), 'an order that does not change');
    // A first deposit is listed as the deposit, then as the FTD, one after the other.
    for (const [i, item] of whole.entries()) {
      if (item.payload.type === 'deposit.ftd')
        assert.equal(key(whole[i - 1]!), `${item.payload.data.eventId}/deposit.completed`);
    }
    // Every item's own cursor goes on right after it.
    const from = await feed(op, `?limit=3&after=${whole[4]!.cursor}`);
    assert.deepEqual(from.data.map(key), whole.slice(5, 8).map(key));
  });

  it('when a transaction that wrote an item commits after later items were listed, then the reader still gets it, and nothing twice', async () => {
    const op = await sys.createOperator('feed late commit');
    const first = await customer(op);
    await settled(op, first);
    const start = (await feed(op, '?limit=500')).nextCursor;

    // A transaction takes its place in the feed first, and commits last.
    const late = `sys~late-${randomBase62(8)}`;
    const tx = await sys.pool.connect();
    try {
      await tx.query('BEGIN');
      await recordEmittedEvent(tx, {
        operatorId: op.id,
        eventId: late,
        type: 'affiliate.created',
        occurredAt: new Date().toISOString(),
        customerId: '',
        payload: {
          id: late,
          data: { affiliateId: 'aff-late', name: 'late', status: 'active', dealModel: 'cpa' },
        },
        bodyHash: 'h',
        workflowId: `event:${op.id}:${late}`,
        facts: { effectiveAttribution: { affiliateId: 'aff-late' }, ftd: false },
        commissionEntryId: null,
        settled: true,
        inFeed: true,
      });
      const later = await customer(op);
      // The later events are applied and committed; the open transaction holds them back.
      await eventually('the later events applied', async () => {
        const { rows } = await sys.pool.query(
          `SELECT count(*)::int AS n FROM feed_items WHERE operator_id = $1`,
          [op.id],
        );
        return rows[0].n === first.length + later.length ? true : undefined;
      });
      const held = await feed(op, `?limit=500&after=${start}`);
      // Nor does its cursor move past the open transaction's item (the reads below go on from it).
      assert.deepEqual(held.data, [], 'nothing listed past a transaction still open');
      await tx.query('COMMIT');

      const after = await eventually('the items after the commit', async () => {
        const page = await feed(op, `?limit=500&after=${held.nextCursor}`);
        return page.data.length === later.length + 1 ? page : undefined;
      });
      assert.deepEqual(
        after.data.map(key).sort(),
        [`${late}/affiliate.created`, ...later].sort(),
        'the late item too, and each once',
      );
      assert.equal(key(after.data[0]!), `${late}/affiliate.created`, 'listed where its transaction began');
    } finally {
      tx.release();
    }
  });

  it('lists each item as the exact webhook body an endpoint received for it', async () => {
    const op = await sys.createOperator('feed payloads');
    const path = `/feed-${randomBase62(6)}`;
    const res = await sys.request('POST', '/v1/endpoints', {
      apiKey: op.apiKey,
      json: { url: rx.url(path), eventTypes: ['*'] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const expected = await customer(op, 'aff-pay');
    const items = await settled(op, expected);
    const received = await rx.waitFor(path, expected.length, 60_000);
    const bodies = new Map(
      received.map((r) => {
        const body = JSON.parse(r.body) as Item['payload'];
        return [`${body.data.eventId}/${body.type}`, body];
      }),
    );
    for (const item of items) assert.deepEqual(item.payload, bodies.get(key(item)), key(item));
  });

  it('filters by exact types, by prefix and by affiliate', async () => {
    const op = await sys.createOperator('feed filters');
    const mine = await customer(op, 'aff-mine');
    const theirs = await customer(op, 'aff-theirs');
    await settled(op, [...mine, ...theirs]);

    const ftd = await all(op, '&types=deposit.ftd');
    assert.deepEqual(ftd.map(key).sort(), [mine[2], theirs[2]].sort());
    const deposits = await all(op, '&types=deposit.*');
    assert.deepEqual(deposits.map(key).sort(), [mine[1], mine[2], theirs[1], theirs[2]].sort());
    const both = await all(op, '&types=customer.registered,deposit.ftd');
    assert.deepEqual(both.map(key).sort(), [mine[0], mine[2], theirs[0], theirs[2]].sort());
    const affiliate = await all(op, '&affiliateId=aff-mine');
    assert.deepEqual(affiliate.map(key).sort(), [...mine].sort());
    const combined = await all(op, '&affiliateId=aff-theirs&types=customer.*');
    assert.deepEqual(combined.map(key), [theirs[0]]);

    // A filtered reader with nothing new keeps a cursor that lists what comes next, once.
    const quiet = await feed(op, '?types=commission.*');
    assert.deepEqual(quiet.data, []);
    const next = await customer(op, 'aff-mine');
    await settled(op, [...mine, ...theirs, ...next]);
    const later = await feed(op, `?types=deposit.ftd&after=${quiet.nextCursor}`);
    assert.deepEqual(later.data.map(key), [next[2]]);
    const ftdLater = await feed(op, `?types=deposit.ftd&after=${ftd[ftd.length - 1]!.cursor}`);
    assert.deepEqual(ftdLater.data.map(key), [next[2]]);
  });

  it('answers 422 in the error shape for a cursor it did not issue and for bad filters', async () => {
    const op = await sys.createOperator('feed validation');
    const bad = async (query: string, path: string) => {
      const res = await sys.request('GET', `/v1/feed${query}`, { apiKey: op.apiKey });
      assert.equal(res.status, 422, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === path),
        `${query}: ${JSON.stringify(res.body.error.details)}`,
      );
    };
    await bad('?after=not-a-cursor', 'query.after');
    const listCursor = Buffer.from(JSON.stringify([new Date().toISOString(), 'dlv_x'])).toString('base64url');
    await bad(`?after=${listCursor}`, 'query.after');
    await bad(`?after=${Buffer.from('["f","-1","0",0]').toString('base64url')}`, 'query.after');
    await bad('?types=deposit.*,nothing.here', 'query.types.1');
    await bad('?types=*', 'query.types.0');
    await bad('?types=Deposit.Completed', 'query.types.0');
    await bad('?limit=0', 'query.limit');
    await bad('?limit=501', 'query.limit');
    await bad('?affiliateId=a%20b', 'query.affiliateId');
    const unauthenticated = await sys.request('GET', '/v1/feed');
    assert.equal(unauthenticated.status, 401);
  });

  it('shows an operator its own events only, whatever cursor it is given', async () => {
    const a = await sys.createOperator('feed isolation a');
    const b = await sys.createOperator('feed isolation b');
    const ofA = await customer(a);
    const ofB = await customer(b);
    const itemsA = await settled(a, ofA);
    await settled(b, ofB);
    assert.deepEqual((await all(b)).map(key).sort(), [...ofB].sort());
    // A's cursor is only a position: B reading after it sees B's items past it, never A's.
    const fromA = await feed(b, `?limit=500&after=${itemsA[0]!.cursor}`);
    for (const item of fromA.data) assert.ok(ofB.includes(key(item)), key(item));
  });

  it('says how far back it reaches, and when a cursor stands further back than that', async () => {
    const op = await sys.createOperator('feed retention');
    const expected = await customer(op);
    const items = await settled(op, expected);
    const page = await feed(op, '?limit=1');
    assert.equal(page.retention.eventsKeptFor, '90d');
    assert.equal(page.retention.oldestItemAt, items[0]!.emittedAt);
    assert.equal(page.retention.gap, false);
    assert.equal((await feed(op, `?after=${items[0]!.cursor}`)).retention.gap, false);
    const old = encodeFeedCursor({ xid: '1', seq: '1', at: new Date(Date.now() - 91 * 86_400_000) });
    const behind = await feed(op, `?after=${old}`);
    assert.equal(behind.retention.gap, true);
    assert.deepEqual(behind.data.map(key).sort(), [...expected].sort());
    const empty = await feed(await sys.createOperator('feed empty'), '');
    assert.deepEqual(empty.data, []);
    assert.equal(empty.retention.oldestItemAt, null);
  });
  // The test database is shared with files running at the same time, so this one only expires what it
  // made old: its operator's events move 1,000 days back, past anything another file ages, and the
  // clean-up runs with periods a day short of that.
  it('loses an item when the retention clean-up deletes its event, and keeps the ones retention keeps', async () => {
    const op = await sys.createOperator('feed clean-up');
    const [registered, ...deposited] = await customer(op);
    await settled(op, [registered!, ...deposited]);
    const bystander = await sys.createOperator('feed clean-up bystander');
    const unprotected = await customer(bystander);
    await settled(bystander, unprotected);
    await sys.pool.query(
      "UPDATE events SET received_at = received_at - interval '1000 days' WHERE operator_id = $1",
      [op.id],
    );
    const ms = 999 * 86_400_000;
    const periods = { attemptsMs: ms, deliveriesMs: ms, eventsMs: ms, conversionsMs: ms, inboundMs: ms };
    const types = { commissionTypes: COMMISSION_EVENT_TYPES, conversionTypes: ['deposit.completed'] };
    let next: Cursor | undefined;
    do {
      const batch = await deleteExpiredEvents(sys.pool, periods, types, 1_000, next);
      next = batch.next ?? undefined;
    } while (next);
    // The deposit had no delivery and nothing protects it; the registration binds its customer: kept.
    assert.deepEqual((await all(op)).map(key), [registered]);
    // Another operator's events, as unprotected but not old, are untouched.
    assert.deepEqual((await all(bystander)).map(key).sort(), [...unprotected].sort());
  });
});
