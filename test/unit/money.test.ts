import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  add,
  compare,
  format,
  isDecimal,
  isNegative,
  isZero,
  MAX_SCALE,
  minorUnits,
  mul,
  neg,
  normalize,
  percentOf,
  round,
  roundMoney,
  sub,
  sum,
  sumOfPercents,
} from '../../src/domain/money.js';

/** A decimal string with up to 8 decimals and up to 20 integer digits, as numeric(28, 8) holds. */
const decimal = fc
  .record({
    units: fc.bigInt({ min: -(10n ** 28n) + 1n, max: 10n ** 28n - 1n }),
    scale: fc.integer({ min: 0, max: MAX_SCALE }),
  })
  .map(({ units, scale }) => {
    const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
    const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
    return units < 0n ? `-${text}` : text;
  });

/** An independent reading of a decimal string: its value in units of 10^-8. */
function units8(text: string): bigint {
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const magnitude = BigInt(`${whole}${fraction.padEnd(MAX_SCALE, '0')}`);
  return text.startsWith('-') ? -magnitude : magnitude;
}

describe('money: decimal strings, exact', () => {
  it('adds what floats cannot: 0.1 + 0.2 is exactly 0.3', () => {
    assert.equal(add('0.1', '0.2'), '0.3');
    assert.equal(sub('0.3', '0.1'), '0.2');
  });

  it('keeps every digit of amounts beyond 2^53', () => {
    assert.equal(add('9007199254740993.00000001', '0.00000001'), '9007199254740993.00000002');
    assert.equal(add('99999999999999999999.99999999', '0.00000001'), '100000000000000000000.00000000');
  });

  it('gives a result as many decimals as its most precise operand, and never "-0"', () => {
    assert.equal(add('1.5', '2.25'), '3.75');
    assert.equal(add('1.50', '2'), '3.50');
    assert.equal(sub('1.00', '1'), '0.00');
    assert.equal(neg('0.00'), '0.00');
    assert.equal(neg('-2.5'), '2.5');
    assert.equal(sum([]), '0');
    assert.equal(sum(['1.10', '2.20', '-0.30']), '3.00');
  });

  it('accepts only plain decimal strings with at most 8 decimals', () => {
    for (const ok of ['0', '-1', '50.00', '0.00000001', '007.5']) assert.equal(isDecimal(ok), true, ok);
    for (const bad of ['', '1e3', '+1', '1.', '.5', ' 1', '1,5', '0.000000001', 'NaN', '1_000']) {
      assert.equal(isDecimal(bad), false, bad);
      assert.throws(() => add(bad, '1'), RangeError, bad);
    }
    assert.equal(isDecimal(1.5), false, 'a JS number is not money');
  });

  it('compares by value, whatever the decimals', () => {
    assert.equal(compare('1.50', '1.5'), 0);
    assert.equal(compare('-0.01', '0'), -1);
    assert.equal(compare('10', '9.99999999'), 1);
    assert.equal(isZero('-0.000'), true);
    assert.equal(isNegative('-0.00'), false);
  });

  it('rounds half away from zero, like PostgreSQL round(numeric)', () => {
    assert.equal(round('0.125', 2), '0.13');
    assert.equal(round('-0.125', 2), '-0.13');
    assert.equal(round('0.124999', 2), '0.12');
    assert.equal(round('2.5', 0), '3');
    assert.equal(round('1', 2), '1.00');
    assert.equal(round('-0.004', 2), '0.00');
  });

  it('multiplies exactly and rounds once: 2.675 lots x 1.00 is 2.68, not the float 2.67', () => {
    assert.equal(mul('2.675', '1.00', 2), '2.68');
    // The exact product is 0.00499999999998: rounded to 8 places it is 0.00500000, which would then round
    // to 0.01; rounded once it is 0.00.
    assert.equal(mul('0.00499999', '1.000002'), '0.00500000');
    assert.equal(mul('0.00499999', '1.000002', 2), '0.00');
    assert.equal(mul('8.00', '0.35', 2), '2.80');
    assert.equal(mul('-3', '0.5'), '-1.50000000');
  });

  it('takes percents: 25% of 123.45 is 30.86 (30.8625 rounded half up)', () => {
    assert.equal(percentOf('123.45', '25', 2), '30.86');
    assert.equal(percentOf('100.00', '12.5', 2), '12.50');
    assert.equal(
      sumOfPercents(
        [
          { amount: '1000', percent: '25' },
          { amount: '0.02', percent: '35' },
        ],
        2,
      ),
      '250.01',
    );
  });

  it('rounds to the currency minor unit: 2 by default, 0 for JPY, 3 for KWD', () => {
    assert.equal(minorUnits('EUR'), 2);
    assert.equal(roundMoney('10.555', 'EUR'), '10.56');
    assert.equal(roundMoney('1234.5', 'JPY'), '1235');
    assert.equal(roundMoney('1.2345', 'KWD'), '1.235');
  });

  it('formats for the API without ever dropping a digit: numeric(28, 8) text comes back as "50.00"', () => {
    assert.equal(format('50.00000000', 'EUR'), '50.00');
    assert.equal(format('-12.30000000', 'EUR'), '-12.30');
    assert.equal(format('0.12345000', 'EUR'), '0.12345');
    assert.equal(format('100.00000000', 'JPY'), '100');
    assert.equal(normalize('-0.000'), '0');
  });

  it('never turns an amount into a JS number: no parseFloat, Number(), Math or toFixed in money.ts', () => {
    const source = readFileSync(new URL('../../src/domain/money.ts', import.meta.url), 'utf8');
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const forbidden of [
      'parseFloat',
      'parseInt',
      'Number(',
      'toFixed',
      'Math.round',
      'Math.floor',
      'Math.pow',
    ]) {
      assert.equal(code.includes(forbidden), false, forbidden);
    }
  });
});

describe('money: properties over random amounts (fast-check)', () => {
  it('sub undoes add: (a + b) - b = a', () => {
    fc.assert(fc.property(decimal, decimal, (a, b) => compare(sub(add(a, b), b), a) === 0));
  });

  it('add is associative and commutative', () => {
    fc.assert(
      fc.property(decimal, decimal, decimal, (a, b, c) => {
        assert.equal(compare(add(add(a, b), c), add(a, add(b, c))), 0);
        assert.equal(add(a, b), add(b, a));
      }),
    );
  });

  it('add and sub agree with exact integer arithmetic in units of 10^-8: no float ever rounds them', () => {
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        assert.equal(units8(add(a, b)), units8(a) + units8(b));
        assert.equal(units8(sub(a, b)), units8(a) - units8(b));
        assert.equal(units8(neg(a)), -units8(a));
      }),
    );
  });

  it('every result is itself a valid decimal string the functions accept again', () => {
    fc.assert(
      fc.property(decimal, decimal, fc.integer({ min: 0, max: MAX_SCALE }), (a, b, d) => {
        for (const r of [add(a, b), sub(a, b), neg(a), round(a, d), normalize(a), format(a, 'EUR')])
          assert.equal(isDecimal(r), true, r);
      }),
    );
  });

  it('rounding lands within half a unit of the value, and rounding twice changes nothing', () => {
    fc.assert(
      fc.property(decimal, fc.integer({ min: 0, max: MAX_SCALE }), (a, d) => {
        const r = round(a, d);
        const error = units8(sub(r, a));
        const half = 10n ** BigInt(MAX_SCALE - d) / 2n;
        assert.ok((error < 0n ? -error : error) <= half, `${a} -> ${r}`);
        assert.equal(round(r, d), r);
      }),
    );
  });

  it('format keeps the value exactly', () => {
    fc.assert(fc.property(decimal, (a) => compare(format(a, 'EUR'), a) === 0));
  });
});
