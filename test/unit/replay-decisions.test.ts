/**
 * What an endpoint's replay does with each feed item (src/domain/replay.ts): the endpoint's subscription
 * and filter decide what is sent; an item is sent again under its original delivery whenever there is one;
 * a delivery still under way is left to its schedule; the range ends just after `until`, never past the
 * horizon.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  countDecisions,
  decideReplay,
  positionBefore,
  replayEnd,
  type ReplayItem,
  type ReplaySubscription,
} from '../../src/domain/replay.js';
import { filterSubject } from '../../src/domain/routing-filter.js';

const sub = (over: Partial<ReplaySubscription> = {}): ReplaySubscription => ({
  eventTypes: ['customer.registered', 'deposit.*'],
  affiliateId: 'aff-1',
  filter: null,
  postback: null,
  missingOnly: false,
  ...over,
});

const item = (over: Partial<ReplayItem> = {}): ReplayItem => ({
  deliveredType: 'deposit.completed',
  affiliateId: 'aff-1',
  subject: filterSubject({ brand: 'casino-x', data: { country: 'DE' } }),
  delivery: null,
  ...over,
});

describe('a replay decides per feed item', () => {
  it('an item of a type the endpoint does not subscribe to is skipped as not subscribed', () => {
    assert.deepEqual(decideReplay(sub(), item({ deliveredType: 'commission.approved' })), {
      kind: 'skip',
      reason: 'not_subscribed',
    });
  });
  it("an affiliate-scoped endpoint skips other affiliates' items and unattributed ones", () => {
    assert.equal(decideReplay(sub(), item({ affiliateId: 'aff-2' })).kind, 'skip');
    assert.equal(decideReplay(sub(), item({ affiliateId: null })).kind, 'skip');
    assert.equal(decideReplay(sub({ affiliateId: null }), item({ affiliateId: 'aff-2' })).kind, 'create');
  });
  it('`*` never replays operational events (they reach only endpoints that name them)', () => {
    const star = sub({ eventTypes: ['*'], affiliateId: null });
    assert.equal(
      decideReplay(star, item({ deliveredType: 'delivery.failing', affiliateId: null })).kind,
      'skip',
    );
  });
  it("the endpoint's filter decides, and a new delivery keeps the record of why", () => {
    const filtered = sub({ filter: { field: 'country', eq: 'FR' } });
    assert.deepEqual(decideReplay(filtered, item()), { kind: 'skip', reason: 'filtered' });
    const passing = decideReplay(sub({ filter: { field: 'country', eq: 'DE' } }), item());
    assert.equal(passing.kind, 'create');
    assert.equal(passing.kind === 'create' && passing.routing?.reasons[0]?.result, true);
  });
  it('a failed or cancelled delivery is reopened (same webhook-id), a succeeded one sent again unless missingOnly', () => {
    const d = (status: string) => item({ delivery: { status, replaced: false } });
    assert.deepEqual(decideReplay(sub(), d('failed')), { kind: 'reopen', resend: false });
    assert.deepEqual(decideReplay(sub(), d('cancelled')), { kind: 'reopen', resend: false });
    assert.deepEqual(decideReplay(sub(), d('succeeded')), { kind: 'reopen', resend: true });
    assert.deepEqual(decideReplay(sub({ missingOnly: true }), d('succeeded')), {
      kind: 'skip',
      reason: 'succeeded',
    });
  });
  it('a delivery still pending or retrying is left to its schedule, never sent twice at once', () => {
    for (const status of ['pending', 'retrying'])
      assert.deepEqual(decideReplay(sub(), item({ delivery: { status, replaced: false } })), {
        kind: 'in_progress',
      });
  });
  it('a conversion a later event replaced is never sent again', () => {
    const replaced = item({ delivery: { status: 'failed', replaced: true } });
    assert.deepEqual(decideReplay(sub(), replaced), { kind: 'skip', reason: 'replaced' });
  });
});

describe("a replay's counts", () => {
  it('add up to the items scanned, whatever the decisions and however many of the wanted were queued', () => {
    const decision = fc.constantFrom(
      ...([
        { kind: 'skip', reason: 'not_subscribed' },
        { kind: 'skip', reason: 'filtered' },
        { kind: 'skip', reason: 'succeeded' },
        { kind: 'skip', reason: 'replaced' },
        { kind: 'in_progress' },
        { kind: 'reopen', resend: true },
        { kind: 'reopen', resend: false },
        { kind: 'create', routing: null },
      ] as const),
    );
    fc.assert(
      fc.property(fc.array(decision, { maxLength: 50 }), fc.nat(60), (decisions, queuedNow) => {
        const c = countDecisions(decisions, queuedNow);
        const wanted = decisions.filter((d) => d.kind === 'reopen' || d.kind === 'create').length;
        assert.equal(c.scanned, decisions.length);
        assert.equal(c.queued, Math.min(wanted, queuedNow));
        assert.equal(
          c.queued +
            c.inProgress +
            c.skippedNotSubscribed +
            c.skippedFiltered +
            c.skippedSucceeded +
            c.skippedReplaced,
          c.scanned,
        );
      }),
    );
  });
});

describe("a replay's range", () => {
  const h = { xid: '1000', seq: '0' };
  it('ends just after the item `until` names, so that item is replayed', () => {
    assert.deepEqual(replayEnd({ xid: '900', seq: '41' }, h), { xid: '900', seq: '42' });
    assert.ok(positionBefore({ xid: '900', seq: '41' }, replayEnd({ xid: '900', seq: '41' }, h)));
  });
  it('ends at the horizon without `until`, and never past it', () => {
    assert.deepEqual(replayEnd(null, h), h);
    assert.deepEqual(replayEnd({ xid: '5000', seq: '1' }, h), h);
  });
  it('orders positions by transaction id, then sequence, as numbers (not as text)', () => {
    assert.ok(positionBefore({ xid: '9', seq: '99' }, { xid: '10', seq: '1' }));
    assert.ok(positionBefore({ xid: '10', seq: '9' }, { xid: '10', seq: '10' }));
    assert.ok(!positionBefore({ xid: '10', seq: '10' }, { xid: '10', seq: '10' }));
  });
});
