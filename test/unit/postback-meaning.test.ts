import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_EVENT_TYPES } from '../../src/domain/event-types.js';
import { postbackInputFromEvent, type PostbackEventView } from '../../src/domain/postback/from-event.js';
import {
  expandSubscription,
  postbackCarriage,
  postbackMeaning,
  subscriptionIssues,
  UNDOABLE_CONVERSION_TYPES,
  undoneConversionKey,
} from '../../src/domain/postback/meaning.js';
import {
  PRESET_NAMES,
  resolvePostbackConfig,
  type PostbackSettings,
  type ResolvedPostbackConfig,
} from '../../src/domain/postback/presets.js';
import { buildPostbackRequest } from '../../src/domain/postback/request.js';

function resolved(url: string, postback: PostbackSettings): ResolvedPostbackConfig {
  const result = resolvePostbackConfig(url, postback);
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

const BASE = 'https://trk.example/postback';
const preset = (name: string) =>
  resolved(name === 'everflow' ? 'https://www.trk.example/?nid=42' : BASE, { preset: name });
/** A template that knows conversions only: no status, no reversal URL, no negative money. */
const plain = resolved(BASE, { template: `${BASE}?cid={click_id}&txid={event_id}&amount={amount}` });

const NEGATIVE = [
  'deposit.chargeback',
  'deposit.refunded',
  'challenge.refunded',
  'commission.rejected',
  'commission.reversed',
];

describe('what an event type means to a tracker', () => {
  it('negative types are reversals', () => {
    for (const type of NEGATIVE) assert.equal(postbackMeaning(type), 'reversal', type);
  });

  it('conversions are conversions; KYC, status, fraud, daily revenue, a failed challenge mean nothing', () => {
    for (const type of ['customer.registered', 'deposit.completed', 'deposit.ftd', 'commission.approved'])
      assert.equal(postbackMeaning(type), 'conversion', type);
    for (const type of [
      'customer.kyc_changed',
      'customer.status_changed',
      'customer.fraud_flagged',
      'revenue.daily',
      'challenge.failed',
      'delivery.failing',
      'settlement.parked',
      'no.such_type',
    ])
      assert.equal(postbackMeaning(type), null, type);
  });

  it('every type of the catalogue is classified: a conversion, a reversal, or refused with a reason', () => {
    for (const type of ALL_EVENT_TYPES) {
      const carriage = postbackCarriage(preset('keitaro'), type);
      if (!carriage.carried) assert.ok(carriage.reason.startsWith(type), type);
    }
  });

  it('a chargeback or refund undoes the conversion its data names', () => {
    assert.deepEqual(undoneConversionKey('deposit.chargeback', { depositId: 'dep-1' }), {
      type: 'deposit.completed',
      field: 'depositId',
      value: 'dep-1',
    });
    assert.deepEqual(undoneConversionKey('challenge.refunded', { challengeId: 'ch-1' }), {
      type: 'challenge.purchased',
      field: 'challengeId',
      value: 'ch-1',
    });
    assert.equal(undoneConversionKey('commission.reversed', { depositId: 'dep-1' }), null);
    assert.equal(undoneConversionKey('deposit.refunded', {}), null);
  });
});

describe('whether an endpoint can carry a negative event', () => {
  it('every preset but voluum reverses an operator chargeback; voluum nets only a commission payout', () => {
    const styles = Object.fromEntries(
      PRESET_NAMES.map((name) => {
        const c = postbackCarriage(preset(name), 'deposit.chargeback');
        return [name, c.carried && c.meaning === 'reversal' ? c.style : 'refused'];
      }),
    );
    assert.deepEqual(styles, {
      keitaro: 'status',
      voluum: 'refused',
      everflow: 'reversal-url',
      binom: 'status',
      affise: 'status',
      redtrack: 'status',
    });
    const voluum = postbackCarriage(preset('voluum'), 'commission.reversed');
    assert.ok(voluum.carried && voluum.meaning === 'reversal' && voluum.style === 'negative-money');
  });

  it('a template without a reversal carries conversions only, and says why and what to do', () => {
    for (const type of NEGATIVE) {
      const c = postbackCarriage(plain, type);
      assert.ok(!c.carried, type);
      assert.match(c.reason, /undoes a conversion/);
      assert.match(c.reason, /reversalTemplate/);
    }
    assert.deepEqual(postbackCarriage(plain, 'deposit.ftd'), { carried: true, meaning: 'conversion' });
  });

  it('a reversalTemplate, {status}, or a negative {amount} each give it a reversal', () => {
    const withUrl = resolved(BASE, {
      template: `${BASE}?t={event_id}`,
      reversalTemplate: `${BASE}/rev?t={conversion_id}`,
    });
    const withStatus = resolved(BASE, { template: `${BASE}?t={conversion_id}&s={status}` });
    const netting = resolved(BASE, {
      template: `${BASE}?t={event_id}&a={amount}`,
      negativePayoutOnReversal: true,
    });
    assert.deepEqual(postbackCarriage(withUrl, 'deposit.refunded'), {
      carried: true,
      meaning: 'reversal',
      style: 'reversal-url',
    });
    assert.equal((postbackCarriage(withStatus, 'deposit.refunded') as { style: string }).style, 'status');
    assert.equal(
      (postbackCarriage(netting, 'deposit.refunded') as { style: string }).style,
      'negative-money',
    );
    // {amount} nets an operator's refund, not a commission, whose money is {payout}.
    assert.equal(postbackCarriage(netting, 'commission.reversed').carried, false);
  });

  it('{status} in a POST body counts like {status} in the URL', () => {
    const body = resolved(BASE, {
      method: 'POST',
      template: BASE,
      bodyTemplate: 'click={click_id}&state={status}',
      bodyEncoding: 'form',
    });
    assert.equal(postbackCarriage(body, 'deposit.chargeback').carried, true);
  });
});

describe('subscriptions', () => {
  it('an explicit type the endpoint cannot carry is an issue at its index; a wildcard is not', () => {
    const issues = subscriptionIssues(plain, ['deposit.*', 'deposit.chargeback', 'revenue.daily', '*']);
    assert.deepEqual(
      issues.map((i) => i.index),
      [1, 2],
    );
    assert.match(issues[1]!.message, /revenue\.daily means nothing to a tracker/);
  });

  it('a wildcard that matches nothing the endpoint can send is an issue', () => {
    const issues = subscriptionIssues(preset('keitaro'), ['delivery.*', 'nothing.*']);
    assert.deepEqual(
      issues.map((i) => i.index),
      [0, 1],
    );
    assert.match(issues[0]!.message, /delivery machinery/);
    assert.match(issues[1]!.message, /matches no event type/);
  });

  it('deposit.* expands to what the endpoint sends, and says what it leaves out and why', () => {
    assert.deepEqual(expandSubscription(plain, ['deposit.*']).delivered, [
      'deposit.completed',
      'deposit.ftd',
    ]);
    assert.deepEqual(
      expandSubscription(plain, ['deposit.*']).excluded.map((e) => e.eventType),
      ['deposit.chargeback', 'deposit.refunded'],
    );
    assert.deepEqual(expandSubscription(preset('everflow'), ['deposit.*']), {
      delivered: ['deposit.completed', 'deposit.chargeback', 'deposit.refunded', 'deposit.ftd'],
      excluded: [],
    });
  });

  it('* leaves out what means nothing to a tracker, and never lists operational types or webhook.test', () => {
    const { delivered, excluded } = expandSubscription(preset('keitaro'), ['*']);
    assert.ok(delivered.includes('deposit.chargeback') && delivered.includes('commission.reversed'));
    assert.deepEqual(
      excluded.map((e) => e.eventType),
      [
        'customer.kyc_changed',
        'customer.status_changed',
        'customer.fraud_flagged',
        'revenue.daily',
        'trading.volume_daily',
        'challenge.failed',
        'affiliate.created',
        'affiliate.updated',
        'affiliate.status_changed',
      ],
    );
    assert.ok(!delivered.includes('webhook.test'));
  });
});

describe('a chargeback rendered as a reversal', () => {
  const cb: PostbackEventView = {
    eventId: 'cb-1',
    deliveredType: 'deposit.chargeback',
    occurredAt: '2026-11-28T09:00:00Z',
    customerId: 'player-42',
    attribution: { affiliateId: 'aff-7', clickId: 'c-9f1' },
    data: { depositId: 'dep-1', amount: '50.00', currency: 'EUR', reason: 'stolen card' },
    conversion: { eventId: 'evt-ftd-1', type: 'deposit.completed', ftd: true },
  };
  const url = (config: ResolvedPostbackConfig) =>
    buildPostbackRequest(config, postbackInputFromEvent(cb)).url;

  it('each preset sends it as its reversal of the deposit (the README presets table)', () => {
    assert.deepEqual(
      Object.fromEntries(
        PRESET_NAMES.filter((name) => name !== 'voluum').map((name) => [name, url(preset(name))]),
      ),
      {
        keitaro: `${BASE}?subid=c-9f1&status=rejected&payout=&currency=EUR&tid=evt-ftd-1`,
        everflow: 'https://www.trk.example/reversal?nid=42&order_id=evt-ftd-1',
        binom: `${BASE}?cnv_id=c-9f1&payout=&cnv_currency=EUR&cnv_status=rejected`,
        affise: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=&status=3`,
        redtrack: `${BASE}?clickid=c-9f1&sum=&currency=EUR&type=deposit.ftd&status=declined`,
      },
    );
  });

  it('a netting template: its own transaction, the amount negative, the deposit named', () => {
    const netting = resolved(BASE, {
      template: `${BASE}?t={event_id}&a={amount}&of={conversion_id}`,
      negativePayoutOnReversal: true,
    });
    assert.equal(url(netting), `${BASE}?t=cb-1&a=-50.00&of=evt-ftd-1`);
  });
});

describe('conversions a negative event can undo', () => {
  it('are exactly the types undoneConversionKey names, so retention keeps every conversion a reversal needs', () => {
    const named = new Set<string>();
    for (const type of ALL_EVENT_TYPES) {
      const key = undoneConversionKey(type, { depositId: 'd-1', challengeId: 'c-1' });
      if (key) named.add(key.type);
    }
    assert.deepEqual([...named].sort(), [...UNDOABLE_CONVERSION_TYPES].sort());
  });
});
