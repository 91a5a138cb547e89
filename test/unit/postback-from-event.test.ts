import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  conversionTypeOf,
  isCommissionNotificationType,
  postbackInputFromEvent,
  type PostbackEventView,
} from '../../src/domain/postback/from-event.js';
import {
  resolvePostbackConfig,
  validatePostbackConfig,
  type PostbackSettings,
  type ResolvedPostbackConfig,
} from '../../src/domain/postback/presets.js';
import { buildPostbackRequest } from '../../src/domain/postback/request.js';
import { matcherRisk } from '../../src/domain/postback/success.js';

function resolved(url: string, postback: PostbackSettings): ResolvedPostbackConfig {
  const result = resolvePostbackConfig(url, postback);
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

const attribution = { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'fb', sub2: 'c 2' } };

/** A first deposit as its `deposit.ftd` delivery sees it. */
const ftd: PostbackEventView = {
  eventId: 'evt-ftd-1',
  deliveredType: 'deposit.ftd',
  occurredAt: '2026-11-27T10:05:00Z',
  customerId: 'player-42',
  attribution,
  data: { depositId: 'dep-1', amount: '50.00', currency: 'EUR' },
  customerCountry: 'DE',
};

/** A commission entry as the commission engine emits it (docs/api-v1.md section 6). */
function commission(type: string, data: Record<string, unknown>): PostbackEventView {
  return {
    eventId: `sys~${type}~${String(data.id)}`,
    deliveredType: type,
    occurredAt: '2026-12-20T08:00:00Z',
    customerId: 'player-42',
    attribution,
    data: {
      commissionId: 'com_acc1',
      affiliateId: 'aff-7',
      customerId: 'player-42',
      conversionEventId: 'evt-ftd-1',
      model: 'cpa',
      rule: 'cpa',
      currency: 'USD',
      holdUntil: '2026-12-27T10:05:00Z',
      reversalOf: null,
      reason: null,
      createdAt: '2026-12-20T08:00:00Z',
      ...data,
    },
    conversion: { type: 'deposit.completed', ftd: true },
  };
}

const accrued = commission('commission.accrued', {
  id: 'com_acc1',
  eventId: 'evt-ftd-1',
  amount: '100.00',
  status: 'pending',
});
const approved = commission('commission.approved', {
  id: 'com_app1',
  eventId: null,
  amount: '100.00',
  status: 'approved',
});
const rejected = commission('commission.rejected', {
  id: 'com_rej1',
  eventId: 'evt-kyc-9',
  amount: '100.00',
  status: 'rejected',
  reason: 'kyc rejected',
});
const reversed = commission('commission.reversed', {
  id: 'com_rev1',
  eventId: 'evt-cb-1',
  amount: '-100.00',
  status: 'reversed',
  reversalOf: 'com_app1',
  reason: 'chargeback',
});

describe('the values a stored event gives its postback', () => {
  it('a deposit: its id, type, money, time, customer, attribution and country; no status, no payout', () => {
    assert.deepEqual(postbackInputFromEvent(ftd), {
      eventId: 'evt-ftd-1',
      originalEventId: null,
      eventType: 'deposit.ftd',
      status: null,
      occurredAt: '2026-11-27T10:05:00Z',
      customerId: 'player-42',
      attribution: { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'fb', sub2: 'c 2' } },
      country: 'DE',
      currency: 'EUR',
      amount: '50.00',
      amountCurrency: 'EUR',
      lots: null,
      instrument: null,
      challengeId: null,
      phase: null,
    });
  });

  it('a closed trade: lots and instrument', () => {
    const input = postbackInputFromEvent({
      ...ftd,
      eventId: 'evt-t-1',
      deliveredType: 'trade.closed',
      data: { tradeId: 't-1', accountId: 'a-1', instrument: 'XAUUSD', lots: '1.50' },
    });
    assert.equal(input.lots, '1.50');
    assert.equal(input.instrument, 'XAUUSD');
    assert.equal(input.amount, null);
  });

  it('a challenge: its id and phase (a numeric phase as its digits), a purchase’s price as the amount', () => {
    const passed = postbackInputFromEvent({
      ...ftd,
      deliveredType: 'challenge.phase_passed',
      data: { challengeId: 'ch-1', phase: 2 },
    });
    assert.equal(passed.challengeId, 'ch-1');
    assert.equal(passed.phase, '2');
    const bought = postbackInputFromEvent({
      ...ftd,
      deliveredType: 'challenge.purchased',
      data: { challengeId: 'ch-1', planId: 'p-100k', price: '549.00', currency: 'USD' },
    });
    assert.equal(bought.amount, '549.00');
    assert.equal(bought.currency, 'USD');
  });

  it('a registration’s own country wins over the customer’s recorded one; without either, none', () => {
    const reg = { ...ftd, deliveredType: 'customer.registered', data: { country: 'AT' } };
    assert.equal(postbackInputFromEvent(reg).country, 'AT');
    assert.equal(postbackInputFromEvent({ ...ftd, customerCountry: null }).country, null);
  });

  it('keeps only sub1..sub10 and string-like values of the attribution', () => {
    const input = postbackInputFromEvent({
      ...ftd,
      attribution: { affiliateId: 'aff-7', subIds: { sub1: 'a', sub10: 7, sub11: 'x', sub2: { no: 1 } } },
    });
    assert.deepEqual(input.attribution, {
      affiliateId: 'aff-7',
      clickId: null,
      subIds: { sub1: 'a', sub10: '7' },
    });
  });

  it('an accrual or approval is the conversion: its transaction id is the conversion event’s', () => {
    for (const [event, status] of [
      [accrued, 'pending'],
      [approved, 'approved'],
    ] as const) {
      const input = postbackInputFromEvent(event);
      assert.equal(input.eventId, 'evt-ftd-1');
      assert.equal(input.originalEventId, null);
      assert.equal(input.status, status);
      assert.equal(input.payout, '100.00');
      assert.equal(input.currency, 'USD');
      assert.equal(input.eventType, 'deposit.ftd', 'the conversion’s type, the same at every step');
      assert.equal(input.amount, undefined, 'a commission has no event money of its own');
    }
  });

  it('a rejection or reversal has its own transaction id and names the conversion as the original', () => {
    for (const [event, status] of [
      [rejected, 'rejected'],
      [reversed, 'reversed'],
    ] as const) {
      const input = postbackInputFromEvent(event);
      assert.equal(input.eventId, event.eventId);
      assert.equal(input.originalEventId, 'evt-ftd-1');
      assert.equal(input.status, status);
    }
    assert.equal(postbackInputFromEvent(reversed).payout, '-100.00');
  });

  it('a commission whose status is missing takes it from the event type; its affiliate from the entry', () => {
    const input = postbackInputFromEvent({
      ...reversed,
      attribution: null,
      data: { ...reversed.data, status: undefined },
    });
    assert.equal(input.status, 'reversed');
    assert.equal(input.attribution?.affiliateId, 'aff-7');
  });

  it('without the conversion event at hand, a commission reports its own type', () => {
    assert.equal(postbackInputFromEvent({ ...approved, conversion: null }).eventType, 'commission.approved');
    assert.equal(conversionTypeOf({ type: 'deposit.completed', ftd: false }), 'deposit.completed');
    assert.equal(conversionTypeOf({ type: 'trade.closed', ftd: false }), 'trade.closed');
    assert.ok(isCommissionNotificationType('commission.reversed'));
    assert.ok(!isCommissionNotificationType('deposit.ftd'));
  });
});

const BASE = 'https://trk.example/postback';
const EVERFLOW = 'https://www.trk.example/?nid=42';
const REV_ID = 'sys~commission.reversed~com_rev1';

/** The exact URL each preset sends for the commission's steps, from the events as stored. */
const expected: Record<string, { url: string; accrued: string; approved: string; reversed: string }> = {
  keitaro: {
    url: BASE,
    accrued: `${BASE}?subid=c-9f1&status=lead&payout=100.00&currency=USD&tid=evt-ftd-1`,
    approved: `${BASE}?subid=c-9f1&status=sale&payout=100.00&currency=USD&tid=evt-ftd-1`,
    reversed: `${BASE}?subid=c-9f1&status=rejected&payout=100.00&currency=USD&tid=evt-ftd-1`,
  },
  voluum: {
    url: BASE,
    accrued: `${BASE}?cid=c-9f1&payout=100.00&currency=USD&txid=evt-ftd-1&et=deposit.ftd`,
    approved: `${BASE}?cid=c-9f1&payout=100.00&currency=USD&txid=evt-ftd-1&et=deposit.ftd`,
    reversed: `${BASE}?cid=c-9f1&payout=-100.00&currency=USD&txid=${REV_ID}&et=deposit.ftd`,
  },
  everflow: {
    url: EVERFLOW,
    accrued: 'https://www.trk.example/?nid=42&transaction_id=c-9f1&amount=&order_id=evt-ftd-1',
    approved: 'https://www.trk.example/?nid=42&transaction_id=c-9f1&amount=&order_id=evt-ftd-1',
    reversed: 'https://www.trk.example/reversal?nid=42&order_id=evt-ftd-1',
  },
  binom: {
    url: BASE,
    accrued: `${BASE}?cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=pending`,
    approved: `${BASE}?cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=approved`,
    reversed: `${BASE}?cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=rejected`,
  },
  affise: {
    url: BASE,
    accrued: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=100.00&status=2`,
    approved: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=100.00&status=1`,
    reversed: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=100.00&status=3`,
  },
  redtrack: {
    url: BASE,
    accrued: `${BASE}?clickid=c-9f1&sum=100.00&currency=USD&type=deposit.ftd&status=pending`,
    approved: `${BASE}?clickid=c-9f1&sum=100.00&currency=USD&type=deposit.ftd&status=approved`,
    reversed: `${BASE}?clickid=c-9f1&sum=100.00&currency=USD&type=deposit.ftd&status=declined`,
  },
};

describe('commission postbacks per preset, from the commission events as stored', () => {
  for (const [preset, want] of Object.entries(expected)) {
    it(`${preset}: accrual, approval and reversal URLs, exactly`, () => {
      const config = resolved(want.url, { preset });
      const send = (event: PostbackEventView) => buildPostbackRequest(config, postbackInputFromEvent(event));
      assert.equal(send(accrued).url, want.accrued);
      assert.equal(send(approved).url, want.approved);
      const reversal = send(reversed);
      assert.deepEqual(reversal, {
        method: 'GET',
        url: want.reversed,
        body: null,
        contentType: null,
        missing: [],
      });
    });
  }

  it('a rejection is sent like a reversal (Keitaro: a status update of the same tid)', () => {
    const config = resolved(BASE, { preset: 'keitaro' });
    assert.equal(
      buildPostbackRequest(config, postbackInputFromEvent(rejected)).url,
      `${BASE}?subid=c-9f1&status=rejected&payout=100.00&currency=USD&tid=evt-ftd-1`,
    );
  });

  it('one transaction id names the conversion in the deposit.ftd postback and the commission postbacks', () => {
    const template = `${BASE}?tid={event_id}&orig={original_event_id}&conv={conversion_id}&s={status}`;
    const config = resolved(BASE, { template });
    const url = (event: PostbackEventView) => buildPostbackRequest(config, postbackInputFromEvent(event)).url;
    assert.equal(url(ftd), `${BASE}?tid=evt-ftd-1&orig=&conv=evt-ftd-1&s=`);
    assert.equal(url(approved), `${BASE}?tid=evt-ftd-1&orig=&conv=evt-ftd-1&s=approved`);
    assert.equal(url(reversed), `${BASE}?tid=${REV_ID}&orig=evt-ftd-1&conv=evt-ftd-1&s=reversed`);
  });

  it('rendering the same stored event again (a redrive) sends the same bytes', () => {
    const config = resolved(BASE, { preset: 'voluum' });
    const once = buildPostbackRequest(config, postbackInputFromEvent(reversed));
    const again = buildPostbackRequest(config, postbackInputFromEvent(structuredClone(reversed)));
    assert.deepEqual(again, once);
  });
});

describe('deposit.ftd conversions per preset', () => {
  it('an operator event sends no status and no payout, and says so', () => {
    const sent = buildPostbackRequest(resolved(BASE, { preset: 'keitaro' }), postbackInputFromEvent(ftd));
    assert.equal(sent.url, `${BASE}?subid=c-9f1&status=&payout=&currency=EUR&tid=evt-ftd-1`);
    assert.deepEqual(sent.missing, ['status', 'payout']);
  });

  it('Everflow gets the deposit as the sale amount', () => {
    const sent = buildPostbackRequest(
      resolved(EVERFLOW, { preset: 'everflow' }),
      postbackInputFromEvent(ftd),
    );
    assert.equal(
      sent.url,
      'https://www.trk.example/?nid=42&transaction_id=c-9f1&amount=50.00&order_id=evt-ftd-1',
    );
    assert.deepEqual(sent.missing, []);
  });
});

describe('the endpoint’s own reversal settings', () => {
  it('reversalTemplate sends rejections and reversals elsewhere, and wins over the preset’s', () => {
    const config = resolved(EVERFLOW, {
      preset: 'everflow',
      reversalTemplate: 'https://www.trk.example/undo?oid={original_event_id}&amt={payout}',
    });
    assert.equal(
      buildPostbackRequest(config, postbackInputFromEvent(reversed)).url,
      'https://www.trk.example/undo?oid=evt-ftd-1&amt=100.00',
    );
    assert.equal(
      buildPostbackRequest(config, postbackInputFromEvent(approved)).url,
      'https://www.trk.example/?nid=42&transaction_id=c-9f1&amount=&order_id=evt-ftd-1',
    );
  });

  it('negativePayoutOnReversal overrides the preset either way', () => {
    const keitaro = resolved(BASE, { preset: 'keitaro', negativePayoutOnReversal: true });
    assert.match(buildPostbackRequest(keitaro, postbackInputFromEvent(reversed)).url, /payout=-100\.00/);
    const voluum = resolved(BASE, { preset: 'voluum', negativePayoutOnReversal: false });
    assert.match(buildPostbackRequest(voluum, postbackInputFromEvent(reversed)).url, /payout=100\.00/);
  });

  it('a reversal template is checked like the template', () => {
    assert.deepEqual(
      validatePostbackConfig(BASE, { preset: 'keitaro', reversalTemplate: `${BASE}?x={nope}` }),
      ["postback.reversalTemplate: unknown macro '{nope}' at position 31"],
    );
  });
});

describe('success matchers that could stall a worker', () => {
  it('accepts plain matchers', () => {
    for (const pattern of ['success=true', '"status":\\s*"ok"', '^OK$', 'ok|accepted', '(?:ab)+', '(a+)?']) {
      assert.equal(matcherRisk(pattern), null, pattern);
    }
  });

  it('refuses a repeated group that itself repeats, and back-references, when saved', () => {
    for (const pattern of ['(a+)+$', '(\\w*x?)*', '(?:[a-z]+){2,}', '(x)\\1', '(?<n>a)\\k<n>']) {
      assert.notEqual(matcherRisk(pattern), null, pattern);
    }
    assert.deepEqual(validatePostbackConfig(BASE, { preset: 'keitaro', successMatch: '(a+)+$' }), [
      'postback.successMatch: a repeated group that itself repeats (such as (a+)+) can take exponential time',
    ]);
  });
});
