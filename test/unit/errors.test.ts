import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { AffiliateIn } from '../../src/api/schemas/affiliates.js';
import { EventIn } from '../../src/contract/events.js';
import { errors } from '../../src/errors.js';

/** The `details` a 422 would answer for `value` under `schema`. */
function details(schema: z.ZodType, value: unknown) {
  const parsed = schema.safeParse(value);
  assert.equal(parsed.success, false, 'the value is refused');
  return errors.validation(parsed.error!.issues).details ?? [];
}

const timing = { holdPeriod: '1d', clawbackWindow: '7d' };
const deposit = (amount: unknown) => ({
  id: 'evt-1',
  type: 'deposit.completed',
  occurredAt: '2026-11-27T10:00:00Z',
  customerId: 'player-42',
  data: { depositId: 'dep-1', amount, currency: 'EUR' },
});

describe('a 422 answer', () => {
  it('gives one message per path: the first problem found there, not each check that follows from it', () => {
    const cases: [z.ZodType, unknown, string][] = [
      [AffiliateIn, { name: 'x', deal: { model: 'revshare', percent: 'abc', ...timing } }, 'deal.percent'],
      [AffiliateIn, { name: 'x', deal: { model: 'revshare', percent: '120', ...timing } }, 'deal.percent'],
      [
        AffiliateIn,
        { name: 'x', deal: { model: 'cpa', amount: 'abc', currency: 'EUR', ...timing } },
        'deal.amount',
      ],
      [
        AffiliateIn,
        { name: 'x', deal: { model: 'cpa', amount: '-5.00', currency: 'EUR', ...timing } },
        'deal.amount',
      ],
      [EventIn, deposit('abc'), 'data.amount'],
    ];
    for (const [schema, value, path] of cases) {
      const found = details(schema, value);
      const at = found.filter((d) => d.path === path);
      assert.equal(at.length, 1, `${path}: ${JSON.stringify(found)}`);
      const paths = found.map((d) => d.path);
      assert.deepEqual(paths, [...new Set(paths)], `no path twice: ${JSON.stringify(found)}`);
    }
    const [amount] = details(EventIn, deposit('abc'));
    assert.match(amount!.message, /decimal string/);
    assert.doesNotMatch(amount!.message, /greater than zero/);
  });

  it('still names each unknown field at its own path', () => {
    const found = details(AffiliateIn, {
      name: 'x',
      deal: { model: 'cpa', amount: '1', currency: 'EUR', a: 1, b: 2, ...timing },
    });
    assert.deepEqual(found.map((d) => d.path).sort(), ['deal.a', 'deal.b']);
  });
});

describe('a 401 answer', () => {
  it('on an admin route names the admin token, not an API key', () => {
    const e = errors.adminUnauthorized();
    assert.equal(e.status, 401);
    assert.equal(e.code, 'unauthorized');
    assert.match(e.message, /ADMIN_TOKEN/);
    assert.doesNotMatch(e.message, /A valid API key is required/);
  });
});
