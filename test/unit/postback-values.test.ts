import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  absDecimal,
  negateDecimal,
  postbackValues,
  unixSeconds,
  type PostbackValuesInput,
} from '../../src/domain/postback/values.js';

describe('negating a decimal string', () => {
  it('adds or removes the minus sign and keeps every digit', () => {
    assert.equal(negateDecimal('50.00'), '-50.00');
    assert.equal(negateDecimal('-1'), '1');
    assert.equal(negateDecimal('-50.00'), '50.00');
    assert.equal(negateDecimal('12345678901234567890.123456789'), '-12345678901234567890.123456789');
  });

  it('leaves zero unsigned, however it is written', () => {
    assert.equal(negateDecimal('0'), '0');
    assert.equal(negateDecimal('0.00'), '0.00');
    assert.equal(negateDecimal('-0.00'), '0.00');
  });

  it('refuses what is not a decimal string', () => {
    for (const bad of ['', '1e3', '+5', '5.', '.5', 'NaN', '1,5', '--1', ' 1']) {
      assert.throws(() => negateDecimal(bad), RangeError, bad);
    }
  });

  it('takes the magnitude', () => {
    assert.equal(absDecimal('-7.5'), '7.5');
    assert.equal(absDecimal('7.5'), '7.5');
  });
});

describe('unix seconds of an RFC 3339 time', () => {
  it('honours the offset and floors fractions', () => {
    assert.equal(unixSeconds('2026-11-27T10:00:00Z'), '1795773600');
    assert.equal(unixSeconds('2026-11-27T12:00:00.999+02:00'), '1795773600');
    assert.equal(unixSeconds('2026-11-27t10:00:00z'), '1795773600');
  });

  it('gives null for anything else', () => {
    for (const bad of ['2026-11-27', '2026-11-27 10:00:00Z', 'yesterday', '1795773600']) {
      assert.equal(unixSeconds(bad), null, bad);
    }
  });
});

const ftd: PostbackValuesInput = {
  eventId: 'evt-1',
  eventType: 'deposit.ftd',
  status: 'approved',
  occurredAt: '2026-11-27T10:00:00Z',
  customerId: 'player-42',
  attribution: { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'fb', sub10: 'ten' } },
  country: 'DE',
  payout: '100.00',
  currency: 'USD',
  amount: '50.00',
  amountCurrency: 'EUR',
};
const keitaroMap = { pending: 'lead', approved: 'sale', rejected: 'rejected', reversed: 'rejected' };

describe('the values a postback sends', () => {
  it('fills every macro the input has, and no other', () => {
    assert.deepEqual(postbackValues(ftd, { statusMap: keitaroMap, negativePayoutOnReversal: false }), {
      event_id: 'evt-1',
      conversion_id: 'evt-1',
      event: 'deposit.ftd',
      status: 'sale',
      timestamp: '1795773600',
      customer_id: 'player-42',
      affiliate_id: 'aff-7',
      click_id: 'c-9f1',
      sub1: 'fb',
      sub10: 'ten',
      country: 'DE',
      payout: '100.00',
      currency: 'USD',
      amount: '50.00',
      amount_currency: 'EUR',
    });
  });

  it('sends our own status word when the map has none for it', () => {
    assert.equal(postbackValues(ftd, { statusMap: {}, negativePayoutOnReversal: false }).status, 'approved');
  });

  it('for a reversal, names the original conversion and sends the payout negative only when asked', () => {
    const reversal: PostbackValuesInput = {
      ...ftd,
      eventId: 'evt-9',
      originalEventId: 'evt-1',
      status: 'reversed',
      payout: '-100.00',
    };
    const netting = postbackValues(reversal, { statusMap: keitaroMap, negativePayoutOnReversal: true });
    assert.equal(netting.payout, '-100.00');
    assert.equal(netting.event_id, 'evt-9');
    assert.equal(netting.original_event_id, 'evt-1');
    assert.equal(netting.conversion_id, 'evt-1');
    assert.equal(netting.status, 'rejected');

    const updating = postbackValues(reversal, { statusMap: keitaroMap, negativePayoutOnReversal: false });
    assert.equal(updating.payout, '100.00');
  });

  it('treats a rejection like a reversal', () => {
    const rejected = { ...ftd, eventId: 'evt-5', originalEventId: 'evt-1', status: 'rejected' as const };
    const values = postbackValues(rejected, { statusMap: {}, negativePayoutOnReversal: true });
    assert.equal(values.payout, '-100.00');
    assert.equal(values.conversion_id, 'evt-1');
  });

  it('leaves out money that is not a decimal string instead of sending it', () => {
    const values = postbackValues(
      { ...ftd, payout: '1e2', amount: '50,00', lots: 'one' },
      { statusMap: {}, negativePayoutOnReversal: false },
    );
    assert.equal(values.payout, undefined);
    assert.equal(values.amount, undefined);
    assert.equal(values.lots, undefined);
  });

  it('carries the Forex and prop fields', () => {
    const values = postbackValues(
      { ...ftd, lots: '1.25', instrument: 'XAUUSD', challengeId: 'ch-1', phase: '2' },
      { statusMap: {}, negativePayoutOnReversal: false },
    );
    assert.deepEqual(
      [values.lots, values.instrument, values.challenge_id, values.phase],
      ['1.25', 'XAUUSD', 'ch-1', '2'],
    );
  });

  it('leaves original_event_id empty on a conversion', () => {
    const values = postbackValues(ftd, { statusMap: {}, negativePayoutOnReversal: false });
    assert.equal(values.original_event_id, undefined);
  });
});
