import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  resolvePostbackConfig,
  validatePostbackConfig,
  type PostbackSettings,
  type ResolvedPostbackConfig,
} from '../../src/domain/postback/presets.js';
import { buildPostbackRequest } from '../../src/domain/postback/request.js';
import type { PostbackValuesInput } from '../../src/domain/postback/values.js';

function resolved(url: string, postback: PostbackSettings): ResolvedPostbackConfig {
  const result = resolvePostbackConfig(url, postback);
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

/** An approved FTD commission of 100.00 USD on a 50.00 EUR deposit... */
const conversion: PostbackValuesInput = {
  eventId: 'evt-ftd-1',
  eventType: 'deposit.ftd',
  status: 'approved',
  occurredAt: '2026-11-27T10:00:00Z',
  customerId: 'player-42',
  attribution: { affiliateId: 'aff-7', clickId: 'c-9f1', subIds: { sub1: 'fb' } },
  payout: '100.00',
  currency: 'USD',
  amount: '50.00',
  amountCurrency: 'EUR',
};
/** ...and its reversal: a new event, naming the original, with the reversal entry booked negative. */
const reversal: PostbackValuesInput = {
  ...conversion,
  eventId: 'evt-rev-1',
  originalEventId: 'evt-ftd-1',
  status: 'reversed',
  occurredAt: '2026-12-20T08:00:00Z',
  payout: '-100.00',
};

const BASE = 'https://trk.example/postback';

const expected: Record<string, { url?: string; conversion: string; reversal: string }> = {
  keitaro: {
    conversion: `${BASE}?subid=c-9f1&status=sale&payout=100.00&currency=USD&tid=evt-ftd-1`,
    reversal: `${BASE}?subid=c-9f1&status=rejected&payout=100.00&currency=USD&tid=evt-ftd-1`,
  },
  voluum: {
    conversion: `${BASE}?cid=c-9f1&payout=100.00&currency=USD&txid=evt-ftd-1&et=deposit.ftd`,
    reversal: `${BASE}?cid=c-9f1&payout=-100.00&currency=USD&txid=evt-rev-1&et=deposit.ftd`,
  },
  everflow: {
    url: 'https://www.trk.example/?nid=42',
    conversion: 'https://www.trk.example/?nid=42&transaction_id=c-9f1&amount=50.00&order_id=evt-ftd-1',
    reversal: 'https://www.trk.example/reversal?nid=42&order_id=evt-ftd-1',
  },
  binom: {
    conversion: `${BASE}?cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=approved`,
    reversal: `${BASE}?cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=rejected`,
  },
  affise: {
    conversion: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=100.00&status=1`,
    reversal: `${BASE}?clickid=c-9f1&action_id=evt-ftd-1&sum=100.00&status=3`,
  },
  redtrack: {
    conversion: `${BASE}?clickid=c-9f1&sum=100.00&currency=USD&type=deposit.ftd&status=approved`,
    reversal: `${BASE}?clickid=c-9f1&sum=100.00&currency=USD&type=deposit.ftd&status=declined`,
  },
};

describe('what each preset sends for a conversion and for its reversal', () => {
  for (const [preset, want] of Object.entries(expected)) {
    it(`${preset}: the exact URL of the conversion and of its reversal`, () => {
      const config = resolved(want.url ?? BASE, { preset });
      const sent = buildPostbackRequest(config, conversion);
      assert.deepEqual(sent, {
        method: 'GET',
        url: want.conversion,
        body: null,
        contentType: null,
        missing: [],
      });
      const undone = buildPostbackRequest(config, reversal);
      assert.deepEqual(undone, {
        method: 'GET',
        url: want.reversal,
        body: null,
        contentType: null,
        missing: [],
      });
    });
  }

  it('a pending Keitaro conversion is a lead, and its rejection is a status update of the same tid', () => {
    const config = resolved(BASE, { preset: 'keitaro' });
    assert.equal(
      buildPostbackRequest(config, { ...conversion, status: 'pending' }).url,
      `${BASE}?subid=c-9f1&status=lead&payout=100.00&currency=USD&tid=evt-ftd-1`,
    );
    const rejected = {
      ...conversion,
      eventId: 'evt-rej-1',
      originalEventId: 'evt-ftd-1',
      status: 'rejected' as const,
    };
    assert.equal(
      buildPostbackRequest(config, rejected).url,
      `${BASE}?subid=c-9f1&status=rejected&payout=100.00&currency=USD&tid=evt-ftd-1`,
    );
  });

  it('encodes what it fills in, and reports what it lacks', () => {
    const config = resolved(BASE, { preset: 'keitaro' });
    const sent = buildPostbackRequest(config, {
      ...conversion,
      attribution: { clickId: 'a b&c=d/é' },
      currency: null,
    });
    assert.equal(
      sent.url,
      `${BASE}?subid=a%20b%26c%3Dd%2F%C3%A9&status=sale&payout=100.00&currency=&tid=evt-ftd-1`,
    );
    assert.deepEqual(sent.missing, ['currency']);
  });

  it('a reversal without the original event id leaves the transaction id empty and says so', () => {
    const config = resolved(BASE, { preset: 'affise' });
    const sent = buildPostbackRequest(config, { ...reversal, originalEventId: null });
    assert.equal(sent.url, `${BASE}?clickid=c-9f1&action_id=&sum=100.00&status=3`);
    assert.deepEqual(sent.missing, ['conversion_id']);
  });
});

describe('merging a preset with the endpoint’s own settings', () => {
  it('appends to a url that already has a query, and drops a fragment', () => {
    const config = resolved('https://trk.example/pb?key=k1#frag', { preset: 'binom' });
    assert.equal(
      buildPostbackRequest(config, conversion).url,
      'https://trk.example/pb?key=k1&cnv_id=c-9f1&payout=100.00&cnv_currency=USD&cnv_status=approved',
    );
  });

  it('an explicit template wins, and is used for reversals too', () => {
    const template = 'https://other.example/x?t={event_id}&o={original_event_id}&s={status}';
    const config = resolved('https://www.trk.example/', { preset: 'everflow', template });
    assert.equal(config.reversalTemplate, null);
    assert.equal(
      buildPostbackRequest(config, reversal).url,
      'https://other.example/x?t=evt-rev-1&o=evt-ftd-1&s=rejected',
    );
  });

  it('an explicit status map replaces the preset’s entries one by one', () => {
    const config = resolved(BASE, { preset: 'keitaro', statusMap: { approved: 'deposit' } });
    assert.deepEqual(config.statusMap, {
      pending: 'lead',
      approved: 'deposit',
      rejected: 'rejected',
      reversed: 'rejected',
    });
  });

  it('the contract’s example endpoint is valid and sends what its template says', () => {
    const postback = {
      preset: 'keitaro',
      method: 'GET',
      template:
        'https://tracker.example/postback?subid={click_id}&payout={payout}&status={status}&tid={event_id}',
      statusMap: { approved: 'sale', pending: 'lead', rejected: 'rejected', reversed: 'rejected' },
      successMatch: 'success=true',
    };
    assert.deepEqual(validatePostbackConfig('https://tracker.example/postback', postback), []);
    const config = resolved('https://tracker.example/postback', postback);
    assert.equal(config.successMatch, 'success=true');
    assert.equal(
      buildPostbackRequest(config, conversion).url,
      'https://tracker.example/postback?subid=c-9f1&payout=100.00&status=sale&tid=evt-ftd-1',
    );
  });

  it('POST sends a form body', () => {
    const config = resolved(BASE, {
      method: 'POST',
      template: `${BASE}?k=1`,
      bodyTemplate: 'clickid={click_id}&note={sub1}&sum={payout}',
      bodyEncoding: 'form',
    });
    const sent = buildPostbackRequest(config, {
      ...conversion,
      attribution: { clickId: 'c 1', subIds: { sub1: 'x&y' } },
    });
    assert.deepEqual(sent, {
      method: 'POST',
      url: `${BASE}?k=1`,
      body: 'clickid=c+1&note=x%26y&sum=100.00',
      contentType: 'application/x-www-form-urlencoded',
      missing: [],
    });
  });

  it('POST sends a JSON body that parses', () => {
    const config = resolved(BASE, {
      preset: 'voluum',
      method: 'POST',
      bodyTemplate: '{"click": "{click_id}", "payout": "{payout}", "country": "{country}"}',
      bodyEncoding: 'json',
    });
    const sent = buildPostbackRequest(config, { ...reversal, attribution: { clickId: 'c"9' } });
    assert.equal(sent.contentType, 'application/json');
    assert.deepEqual(JSON.parse(sent.body!), { click: 'c"9', payout: '-100.00', country: '' });
    assert.deepEqual(sent.missing, ['country']);
  });
});

describe('validating an endpoint’s postback settings when it is saved', () => {
  const valid: PostbackSettings = { template: `${BASE}?c={click_id}` };

  it('accepts a plain template, and a preset alone', () => {
    assert.deepEqual(validatePostbackConfig(BASE, valid), []);
    for (const preset of ['keitaro', 'voluum', 'everflow', 'binom', 'affise', 'redtrack']) {
      assert.deepEqual(validatePostbackConfig(BASE, { preset }), [], preset);
    }
  });

  it('needs a template unless a preset supplies one', () => {
    assert.deepEqual(validatePostbackConfig(BASE, {}), [
      'postback.template: required unless a preset supplies one',
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { template: '' }), [
      'postback.template: must not be empty',
    ]);
  });

  it('refuses an unknown preset and names the known ones', () => {
    assert.deepEqual(validatePostbackConfig(BASE, { preset: 'tune' }), [
      "postback.preset: unknown preset 'tune'; known presets: keitaro, voluum, everflow, binom, affise, redtrack",
    ]);
  });

  it('refuses unknown macros and stray braces, with the field and position', () => {
    assert.deepEqual(validatePostbackConfig(BASE, { template: `${BASE}?c={clickid}&x={{y` }), [
      "postback.template: unknown macro '{clickid}' at position 31",
      "postback.template: '{{' at position 43: a literal brace is never sent, and '{{' is not an escape",
      "postback.template: unclosed '{' at position 44",
    ]);
  });

  it('refuses a template that is not an absolute http(s) URL, or whose host is a macro', () => {
    assert.deepEqual(validatePostbackConfig(BASE, { template: 'ftp://trk.example/?c={click_id}' }), [
      'postback.template: must be an absolute http:// or https:// URL',
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { template: '/postback?c={click_id}' }), [
      'postback.template: must be an absolute http:// or https:// URL',
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { template: 'https://{_sub1}.example/' }), [
      'postback.template: the host must be literal: macros belong in the path and query',
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { template: 'https://t.example/a b' }), [
      'postback.template: must not contain whitespace; write a space as %20',
    ]);
  });

  it('blames the url when a preset builds its template from a bad one', () => {
    assert.deepEqual(validatePostbackConfig('mailto:x@y', { preset: 'affise' }), [
      'url (the affise preset builds its template from it): must be an absolute http:// or https:// URL',
    ]);
  });

  it('POST needs a body template and a body encoding; GET takes neither', () => {
    assert.deepEqual(validatePostbackConfig(BASE, { ...valid, method: 'POST' }), [
      'postback.bodyEncoding: required with POST: form or json',
      'postback.bodyTemplate: required with POST',
    ]);
    assert.deepEqual(
      validatePostbackConfig(BASE, { ...valid, method: 'POST', bodyTemplate: 'a=1', bodyEncoding: 'xml' }),
      ["postback.bodyEncoding: must be form or json, not 'xml'"],
    );
    assert.deepEqual(validatePostbackConfig(BASE, { ...valid, bodyTemplate: 'a=1', bodyEncoding: 'form' }), [
      'postback.bodyTemplate: sent only with method POST',
      'postback.bodyEncoding: sent only with method POST',
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { ...valid, method: 'PUT' }), [
      "postback.method: must be GET or POST, not 'PUT'",
    ]);
  });

  it('checks a JSON body as JSON and a form body as text', () => {
    const post = { ...valid, method: 'POST' };
    assert.deepEqual(
      validatePostbackConfig(BASE, { ...post, bodyTemplate: '{"a": "{sub1}"}', bodyEncoding: 'json' }),
      [],
    );
    assert.match(
      validatePostbackConfig(BASE, { ...post, bodyTemplate: '{"a": {payout}}', bodyEncoding: 'json' })[0]!,
      /^postback\.bodyTemplate: not valid JSON/,
    );
    // In a form body every brace is a macro delimiter, so JSON there is refused.
    assert.deepEqual(
      validatePostbackConfig(BASE, { ...post, bodyTemplate: '{"a": "{sub1}"}', bodyEncoding: 'form' }),
      [
        "postback.bodyTemplate: nested '{' at position 7 inside the macro opened at position 0",
        "postback.bodyTemplate: unmatched '}' at position 14",
      ],
    );
  });

  it('refuses a success matcher that is not a regular expression', () => {
    const [error] = validatePostbackConfig(BASE, { ...valid, successMatch: '(unclosed' });
    assert.match(error!, /^postback\.successMatch: not a valid regular expression/);
  });

  it('takes only our four statuses as status map keys', () => {
    assert.deepEqual(validatePostbackConfig(BASE, { ...valid, statusMap: { approved: 'sale', hold: '5' } }), [
      "postback.statusMap: unknown status 'hold'; statuses are pending, approved, rejected, reversed",
    ]);
    assert.deepEqual(validatePostbackConfig(BASE, { ...valid, statusMap: { approved: '' } }), [
      'postback.statusMap.approved: must be a non-empty string',
    ]);
  });
});
