import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventIn, EVENT_DATA_SCHEMAS } from '../../src/contract/events.js';
import { INBOUND_EVENT_TYPES } from '../../src/domain/event-types.js';

/** One valid example per version-1 type, with the contract's required data fields. */
const EXAMPLES: Record<(typeof INBOUND_EVENT_TYPES)[number], Record<string, unknown>> = {
  'customer.registered': { country: 'DE' },
  'customer.kyc_changed': { kycStatus: 'verified' },
  'customer.status_changed': { status: 'self_excluded', reason: 'player request' },
  'customer.fraud_flagged': { flag: 'multi-account', severity: 'high' },
  'deposit.completed': { depositId: 'dep-1', amount: '50.00', currency: 'EUR' },
  'deposit.chargeback': { depositId: 'dep-1', amount: '50.00', currency: 'EUR', reason: 'fraud' },
  'deposit.refunded': { depositId: 'dep-1', amount: '10', currency: 'USD' },
  'wagering.completed': { requirementId: 'wr-1' },
  'revenue.daily': {
    date: '2026-11-26',
    ggr: '100.00',
    bonuses: '20.00',
    fees: '5.00',
    ngr: '-25.00',
    currency: 'EUR',
  },
  'account.opened': { accountId: 'mt5-1' },
  'trade.closed': { tradeId: 't-1', accountId: 'mt5-1', instrument: 'XAUUSD', lots: '0.25' },
  'trading.volume_daily': { accountId: 'mt5-1', date: '2026-11-26', lots: { EURUSD: '12.5' } },
  'challenge.purchased': { challengeId: 'ch-1', planId: '100k', price: '499.00', currency: 'USD' },
  'challenge.phase_passed': { challengeId: 'ch-1', phase: 1 },
  'challenge.failed': { challengeId: 'ch-1', phase: 2 },
  'challenge.refunded': { challengeId: 'ch-1', amount: '499.00', currency: 'USD' },
  'funded_account.activated': { challengeId: 'ch-1', accountId: 'funded-1' },
};

function event(type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    id: 'evt-1',
    type,
    occurredAt: '2026-11-27T10:00:00Z',
    customerId: 'player-42',
    attribution: { affiliateId: 'aff-7' },
    data,
    ...extra,
  };
}

describe('the version-1 event schemas', () => {
  it('cover every inbound type of the catalogue', () => {
    assert.deepEqual(Object.keys(EVENT_DATA_SCHEMAS).sort(), [...INBOUND_EVENT_TYPES].sort());
  });

  for (const type of INBOUND_EVENT_TYPES) {
    it(`accept a valid ${type}, keep extra data fields, and refuse it without each required field`, () => {
      const data = { ...EXAMPLES[type], extraField: 'kept' };
      const ok = EventIn.safeParse(event(type, data));
      assert.ok(ok.success, JSON.stringify(!ok.success && ok.error.issues));
      assert.equal((ok.data.data as Record<string, unknown>).extraField, 'kept');
      for (const field of Object.keys(EXAMPLES[type])) {
        const { [field]: _dropped, ...rest } = EXAMPLES[type];
        const bad = EventIn.safeParse(event(type, rest));
        assert.ok(!bad.success, `${type} without ${field} is refused`);
        assert.ok(bad.error.issues.some((i) => i.path.join('.') === `data.${field}`));
      }
    });
  }

  it('refuses money as a float, with an exponent, or negative where it must be positive', () => {
    for (const amount of [50.5, '5e3', '-1.00', '0', '0.00', '1.123456789', '']) {
      const res = EventIn.safeParse(event('deposit.completed', { depositId: 'd', amount, currency: 'EUR' }));
      assert.ok(!res.success, `amount ${JSON.stringify(amount)} is refused`);
    }
  });

  it('trading.volume_daily: lots per instrument as decimal strings, 1 to 50 instruments, volume only with its currency', () => {
    const volume = (data: Record<string, unknown>) =>
      EventIn.safeParse(event('trading.volume_daily', { accountId: 'mt5-1', date: '2026-11-26', ...data }));
    assert.ok(
      volume({ lots: { EURUSD: '12.5', XAUUSD: '3' }, volume: '1250000.00', currency: 'USD' }).success,
    );
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`SYM${i}`, '1']));
    assert.ok(volume({ lots: fifty }).success);
    const refused: [Record<string, unknown>, string][] = [
      [{ lots: {} }, 'data.lots'],
      [{ lots: { ...fifty, ONEMORE: '1' } }, 'data.lots'],
      [{ lots: { EURUSD: 1.5 } }, 'data.lots.EURUSD'],
      [{ lots: { EURUSD: '0' } }, 'data.lots.EURUSD'],
      [{ lots: { EURUSD: '1234567' } }, 'data.lots.EURUSD'],
      [{ lots: { 'EUR USD': '1' } }, 'data.lots.EUR USD'],
      [{ lots: [{ instrument: 'EURUSD', lots: '1' }] }, 'data.lots'],
      [{ lots: { EURUSD: '1' }, date: '2026-11-31' }, 'data.date'],
      [{ lots: { EURUSD: '1' }, volume: '100.00' }, 'data.currency'],
      [{ lots: { EURUSD: '1' }, currency: 'USD' }, 'data.currency'],
      [{ lots: { EURUSD: '1' }, volume: '-1', currency: 'USD' }, 'data.volume'],
    ];
    for (const [data, path] of refused) {
      const res = volume(data);
      assert.ok(!res.success, `${JSON.stringify(data)} is refused`);
      assert.ok(
        res.error.issues.some((i) => i.path.join('.') === path),
        `${JSON.stringify(data)}: ${JSON.stringify(res.error.issues)}`,
      );
    }
  });

  it('requires attribution on registration only', () => {
    const { attribution: _a, ...noAttribution } = event('customer.registered', { country: 'DE' });
    assert.ok(!EventIn.safeParse(noAttribution).success);
    const { attribution: _b, ...deposit } = event('deposit.completed', EXAMPLES['deposit.completed']);
    assert.ok(EventIn.safeParse(deposit).success);
  });

  it('refuses ids outside 1-128 chars of [A-Za-z0-9._:@-]', () => {
    for (const id of ['', 'a'.repeat(129), 'has space', 'slash/id', 'ümlaut']) {
      assert.ok(!EventIn.safeParse(event('account.opened', { accountId: 'a' }, { id })).success, id);
    }
    assert.ok(EventIn.safeParse(event('account.opened', { accountId: 'a' }, { id: 'a.b_c:d@e-f' })).success);
  });

  it('names the allowed types when the type is unknown', () => {
    const res = EventIn.safeParse(event('deposit.teleported', {}));
    assert.ok(!res.success);
    const issue = res.error.issues.find((i) => i.path.join('.') === 'type');
    assert.ok(issue, JSON.stringify(res.error.issues));
    assert.match(issue.message, /deposit\.completed/);
  });

  it('refuses types the orchestrator emits itself', () => {
    assert.ok(!EventIn.safeParse(event('deposit.ftd', EXAMPLES['deposit.completed'])).success);
    assert.ok(!EventIn.safeParse(event('commission.approved', {})).success);
  });

  it('refuses unknown top-level fields and offsets-free timestamps', () => {
    assert.ok(!EventIn.safeParse(event('account.opened', { accountId: 'a' }, { customerID: 'x' })).success);
    assert.ok(
      !EventIn.safeParse(event('account.opened', { accountId: 'a' }, { occurredAt: '2026-11-27 10:00' }))
        .success,
    );
    assert.ok(
      EventIn.safeParse(
        event('account.opened', { accountId: 'a' }, { occurredAt: '2026-11-27T12:00:00+02:00' }),
      ).success,
    );
  });
});
