import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affiliateEvents, type AffiliateChange } from '../../src/domain/affiliate-events.js';

const change = (over: Partial<AffiliateChange>): AffiliateChange => ({
  affiliateId: 'aff-7',
  name: 'Spring Media',
  status: 'active',
  dealModel: 'cpa',
  previousStatus: 'active',
  created: false,
  changed: [],
  ...over,
});
const about = { affiliateId: 'aff-7', name: 'Spring Media', dealModel: 'cpa' };

describe('what an affiliate change emits', () => {
  it('a creation is affiliate.created only, whatever its status', () => {
    assert.deepEqual(affiliateEvents(change({ created: true, previousStatus: null, status: 'suspended' })), [
      { type: 'affiliate.created', data: { ...about, status: 'suspended' } },
    ]);
  });

  it('a PUT that changes nothing emits nothing', () => {
    assert.deepEqual(affiliateEvents(change({})), []);
  });

  it('a status change alone is affiliate.status_changed with the previous status', () => {
    assert.deepEqual(affiliateEvents(change({ status: 'suspended', changed: ['status'] })), [
      { type: 'affiliate.status_changed', data: { ...about, status: 'suspended', previousStatus: 'active' } },
    ]);
  });

  it('a deal or name change is affiliate.updated, listing what changed', () => {
    assert.deepEqual(affiliateEvents(change({ changed: ['deal', 'name'] })), [
      { type: 'affiliate.updated', data: { ...about, status: 'active', changed: ['name', 'deal'] } },
    ]);
  });

  it('a status change with a deal change is both, and affiliate.updated lists the status too', () => {
    const events = affiliateEvents(
      change({ status: 'active', previousStatus: 'suspended', changed: ['status', 'deal'] }),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['affiliate.status_changed', 'affiliate.updated'],
    );
    assert.equal(events[0]!.data.previousStatus, 'suspended');
    assert.deepEqual(events[1]!.data.changed, ['status', 'deal']);
  });
});
