import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonDepthExcess, MAX_JSON_DEPTH } from '../../src/api/json-depth.js';

/** The nesting depth of a parsed JSON value, the reference the scanner must agree with. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object')
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe('the JSON depth scanner', () => {
  it('counts the body itself as level 1 and allows exactly the limit', () => {
    assert.equal(jsonDepthExcess('{}', 1), null);
    assert.equal(jsonDepthExcess('1', 0), null);
    assert.deepEqual(jsonDepthExcess('[[]]', 1), { path: [0] });
    assert.equal(jsonDepthExcess('[[]]', 2), null);
    assert.equal(jsonDepthExcess(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`), null);
    assert.notEqual(
      jsonDepthExcess(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`),
      null,
    );
  });

  it('scans 1,000,000 levels without recursion', () => {
    const n = 1_000_000;
    assert.notEqual(jsonDepthExcess(`${'['.repeat(n)}${']'.repeat(n)}`), null);
    assert.notEqual(jsonDepthExcess(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`), null);
  });

  it('is not fooled by brackets, braces and escaped quotes inside strings', () => {
    const tricky = JSON.stringify({
      a: '[[[[{{{{',
      'b[{': 'x\\"[[[[',
      c: ['"]]]]}}}}', '\\', '\\\\"[', '\u005b\u007b'],
    });
    assert.equal(depthOf(JSON.parse(tricky)), 2);
    assert.equal(jsonDepthExcess(tricky, 2), null);
    assert.deepEqual(jsonDepthExcess(`[${tricky}]`, 2), { path: [0, 'c'] });
    // Closing brackets in a string do not let a real level go unnoticed.
    assert.deepEqual(jsonDepthExcess('[["]]]]]]",[1]]]', 2), { path: [0, 1] });
  });

  it('names the path of the first container over the limit: keys unescaped, array indexes counted', () => {
    assert.deepEqual(jsonDepthExcess('{"a":1,"b":[0,{"x":[]},{"c\\"d":{"e":{}}}]}', 4), {
      path: ['b', 2, 'c"d', 'e'],
    });
    assert.deepEqual(jsonDepthExcess('{"a": [1, 2, [3]], "b": {"c": [[]]}}', 2), { path: ['a', 2] });
  });

  it('agrees with the depth of the parsed value, for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, max) => {
        const text = JSON.stringify(value);
        const excess = jsonDepthExcess(text, max);
        assert.equal(excess !== null, depthOf(value) > max, text);
        // Pretty-printed the same.
        assert.equal(jsonDepthExcess(JSON.stringify(value, null, 2), max) !== null, excess !== null);
      }),
      { numRuns: 500 },
    );
  });
});
