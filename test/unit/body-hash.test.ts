import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyHash, canonicalJson } from '../../src/body-hash.js';

describe('what "the same body" means', () => {
  it('ignores key order at every depth', () => {
    const a = { id: 'e1', data: { amount: '1.00', currency: 'EUR' }, list: [{ x: 1, y: 2 }] };
    const b = { list: [{ y: 2, x: 1 }], data: { currency: 'EUR', amount: '1.00' }, id: 'e1' };
    assert.equal(bodyHash(a), bodyHash(b));
  });

  it('sees any change of value, type or array order', () => {
    const base = { amount: '1.00', tags: ['a', 'b'] };
    assert.notEqual(bodyHash(base), bodyHash({ amount: '1.0', tags: ['a', 'b'] }));
    assert.notEqual(bodyHash(base), bodyHash({ amount: 1, tags: ['a', 'b'] }));
    assert.notEqual(bodyHash(base), bodyHash({ amount: '1.00', tags: ['b', 'a'] }));
  });

  it('treats an undefined field as absent, as JSON does', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
  });
});
