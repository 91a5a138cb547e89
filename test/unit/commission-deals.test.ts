import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dealProblems, type Deal } from '../../src/domain/commission/deals.js';

describe('deal terms: dealProblems', () => {
  it('accepts the contract’s example CPA deal and one deal of each other model', () => {
    const deals: Deal[] = [
      {
        model: 'cpa',
        amount: '100.00',
        currency: 'EUR',
        qualification: { minFirstDeposit: '20.00', windowDays: 30, requireKyc: false },
        holdPeriod: '30d',
        clawbackWindow: '90d',
      },
      {
        model: 'revshare',
        percent: '25',
        tiers: [{ fromNgr: '10000', percent: '30' }],
        negativeCarryover: true,
        holdPeriod: '0s',
        clawbackWindow: '60d',
      },
      {
        model: 'hybrid',
        cpa: {
          amount: '50',
          currency: 'USD',
          qualification: { minCumulativeDeposits: '100', windowDays: 14 },
        },
        revshare: { percent: '15', negativeCarryover: false },
        holdPeriod: '14d',
        clawbackWindow: '30d',
      },
      {
        model: 'lot',
        amountPerLot: '7.00',
        currency: 'USD',
        instruments: { XAUUSD: '8.00' },
        holdPeriod: '1d',
        clawbackWindow: '7d',
      },
      { model: 'challenge', percent: '20', holdPeriod: '14d', clawbackWindow: '30d' },
      { model: 'challenge', amount: '25.00', currency: 'EUR', holdPeriod: '14d', clawbackWindow: '30d' },
    ];
    for (const deal of deals) assert.deepEqual(dealProblems(deal), [], deal.model);
  });

  it('names each problem by its path', () => {
    const deal = {
      model: 'hybrid',
      cpa: { amount: '0', currency: 'eur', qualification: { windowDays: 0, countries: ['Germany'] } },
      revshare: {
        percent: '120',
        tiers: [
          { fromNgr: '5000', percent: '30' },
          { fromNgr: '5000', percent: '35' },
        ],
        negativeCarryover: 'yes',
      },
      holdPeriod: '30 days',
      clawbackWindow: '90d',
    } as unknown as Deal;
    assert.deepEqual(dealProblems(deal), [
      'holdPeriod must be a duration such as "30d"',
      'cpa.amount must be greater than zero',
      'cpa.currency must be an ISO 4217 code such as "EUR"',
      'cpa.qualification.windowDays must be a whole number of days, at least 1',
      'cpa.qualification.countries must be ISO 3166-1 alpha-2 codes such as "DE"',
      'revshare.percent must be a decimal string from "0" to "100"',
      'revshare.negativeCarryover must be a boolean',
      'revshare.tiers must be in strictly ascending order of fromNgr',
    ]);
  });

  it('refuses a clawback window shorter than the hold: an approved commission could never be clawed back', () => {
    const deal: Deal = { model: 'challenge', percent: '10', holdPeriod: '30d', clawbackWindow: '7d' };
    assert.deepEqual(dealProblems(deal), ['clawbackWindow must be at least as long as holdPeriod']);
  });
});
