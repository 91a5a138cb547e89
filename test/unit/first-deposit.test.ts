import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideFirstDeposit } from '../../src/domain/first-deposit.js';

const at = new Date('2026-01-02T03:04:05.678Z');
const deposit = (eventId: string, type = 'deposit.completed') => ({
  eventId,
  type,
  occurredAt: at,
  data: { depositId: `d-${eventId}`, amount: '25.00', currency: 'EUR' },
});

describe('the first-time deposit claim', () => {
  it("a customer's first deposit claims the FTD, recording its deposit, amount, currency and time", () => {
    assert.deepEqual(decideFirstDeposit(deposit('e1'), null), {
      ftd: true,
      claim: { eventId: 'e1', depositId: 'd-e1', amount: '25.00', currency: 'EUR', at },
    });
  });

  it('a later deposit is not the FTD and claims nothing', () => {
    assert.deepEqual(decideFirstDeposit(deposit('e2'), 'e1'), { ftd: false, claim: null });
  });

  it('the FTD applied again (a redrive, a retried transaction) is still the FTD, and claims nothing anew', () => {
    assert.deepEqual(decideFirstDeposit(deposit('e1'), 'e1'), { ftd: true, claim: null });
  });

  it('only `deposit.completed` can be the FTD', () => {
    for (const type of ['customer.registered', 'deposit.chargeback', 'deposit.refunded', 'deposit.ftd'])
      assert.deepEqual(decideFirstDeposit(deposit('e1', type), null), { ftd: false, claim: null }, type);
  });
});
