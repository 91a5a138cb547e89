/**
 * `GET /v1/event-types` (src/contract/event-type-catalogue.ts): every type, its published JSON Schema, an
 * example that schema accepts, and the postback macros that carry a value. The schema is checked with Ajv,
 * as a receiver's validator would read it, not with the zod schema it was generated from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { eventTypeCatalogue } from '../../src/contract/event-type-catalogue.js';
import { ALL_EVENT_TYPES } from '../../src/domain/event-types.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
const catalogue = eventTypeCatalogue();
const entry = (type: string) => catalogue.find((e) => e.type === type)!;

describe('event type catalogue', () => {
  it('lists every type once, in catalogue order', () => {
    assert.deepEqual(
      catalogue.map((e) => e.type),
      [...ALL_EVENT_TYPES],
    );
  });

  it("every example is accepted by its own type's schema and refused by every other type's", () => {
    for (const e of catalogue) {
      const validate = ajv.compile(e.schema);
      assert.ok(validate(e.example), `${e.type}: ${JSON.stringify(validate.errors)}`);
      for (const other of catalogue.filter((o) => o.type !== e.type))
        assert.equal(ajv.validate(other.schema, e.example), false, `${e.type}'s example under ${other.type}`);
    }
  });

  it('a schema refuses a body missing a required field of its details', () => {
    for (const e of catalogue) {
      const details = e.example.data.details;
      const required = (
        ((e.schema as any).properties.data.properties.details.required as string[] | undefined) ?? []
      ).filter((k) => k in details);
      if (!required.length) continue;
      const { [required[0]!]: _gone, ...rest } = details;
      const broken = { ...e.example, data: { ...e.example.data, details: rest } };
      assert.equal(ajv.validate(e.schema, broken), false, `${e.type} without ${required[0]}`);
    }
  });

  it('says which types a `*` subscription covers: every business type, no operational one', () => {
    for (const e of catalogue) assert.equal(e.matchedByWildcard, e.kind !== 'operational', e.type);
    assert.equal(entry('delivery.exhausted').kind, 'operational');
    assert.equal(entry('deposit.ftd').kind, 'derived');
  });

  it('names the postback macros that carry a value, from the code that fills them in', () => {
    const ftd = entry('deposit.ftd').postback!;
    assert.equal(ftd.meaning, 'conversion');
    for (const m of ['click_id', 'sub1', 'affiliate_id', 'event_id', 'conversion_id', 'amount', 'currency'])
      assert.ok(ftd.macros.includes(m as never), `deposit.ftd carries ${m}`);
    assert.ok(!ftd.macros.includes('payout'), 'an operator event carries no payout');
    assert.ok(!ftd.macros.includes('original_event_id'));

    const approved = entry('commission.approved').postback!;
    for (const m of ['payout', 'status', 'currency', 'event_id'])
      assert.ok(approved.macros.includes(m as never), `commission.approved carries ${m}`);

    const chargeback = entry('deposit.chargeback').postback!;
    assert.equal(chargeback.meaning, 'reversal');
    assert.ok(chargeback.macros.includes('original_event_id'), 'a chargeback names the deposit it undoes');

    const trade = entry('trade.closed').postback!;
    for (const m of ['lots', 'instrument'])
      assert.ok(trade.macros.includes(m as never), `trade.closed carries ${m}`);
    assert.ok(entry('challenge.phase_passed').postback!.macros.includes('phase'));

    assert.equal(entry('customer.kyc_changed').postback, null, 'a KYC change means nothing to a tracker');
    assert.equal(entry('revenue.daily').postback, null);
    assert.equal(entry('delivery.failing').postback, null);
  });
});
