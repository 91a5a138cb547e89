import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyEventTx, recordAndApplyTx } from '../../activities/apply-event.js';
import { deliver } from '../../activities/delivery/deliver.js';
import { deliveryWaitingAnHour, handDeliveryDeps, inspectedPool } from '../support/attempt-by-hand.js';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { newEventOf, recordOnly } from '../support/recorded.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * An event's application and an attempt's two large statements, the claim and the attempt log, reach PostgreSQL as named prepared
 * statements: planned once per connection. Planned afresh they cost more than they run (BENCHMARKS.md, "the
 * delivery's two statements planned once"), which made a tenant whose deliveries wait for an open breaker
 * a noisy neighbour.
 */
let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

describe("an attempt's statements", () => {
  it('claim the delivery and log the attempt as named statements', async () => {
    const path = `/statements-${uniqueId('aff')}`;
    const { deliveryId } = await deliveryWaitingAnHour(sys, rx, op, path);

    // Attempt 2, by hand, while the workflow waits: the receiver answers 200 (its default).
    const seen: { name: string | null; text: string }[] = [];
    const { deps, close } = handDeliveryDeps(inspectedPool(sys.pool, (s) => void seen.push(s)));
    try {
      const result = await deliver(deps, { deliveryId, driveBase: 0 });
      assert.equal(result.status, 'succeeded');
    } finally {
      close();
    }
    const claim = seen.filter((s) => /^\s*WITH prior AS \(/.test(s.text));
    const log = seen.filter((s) => /^\s*WITH attempt AS \(\s*INSERT INTO delivery_attempts/.test(s.text));
    assert.equal(claim.length, 1, 'one claim');
    assert.equal(log.length, 1, 'one attempt log');
    assert.equal(claim[0]!.name, 'deliver:claim-1');
    assert.equal(log[0]!.name, 'deliver:record-attempt-1');
  });
});

describe("an event's application", () => {
  it('runs named statements alone: the subscribers it finds and the deliveries it makes too', async () => {
    const affiliateId = uniqueId('aff');
    for (const path of ['/a', '/b']) {
      const res = await sys.request('POST', '/v1/endpoints', {
        apiKey: op.apiKey,
        json: { url: rx.url(`${path}-${affiliateId}`), eventTypes: ['*'], affiliateId },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // Applied by its workflow (recorded before), and recorded and applied at once (the API's way).
    const event = registration(uniqueId('player'), { attribution: { affiliateId } });
    const other = registration(uniqueId('player'), { attribution: { affiliateId } });
    const ref = await recordOnly(sys.pool, op.id, event);
    const seen: { name: string | null; text: string }[] = [];
    const pool = inspectedPool(sys.pool, (s) => void seen.push(s), { transactions: true });
    try {
      const applied = await applyEventTx(pool, ref);
      assert.equal(applied.deliveries.length, 2);
      const recorded = await recordAndApplyTx(pool, newEventOf(op.id, other));
      assert.equal(recorded?.deliveries.length, 2);
    } finally {
      // Not for any reconciler to start: nothing runs these events.
      await sys.pool.query(
        'UPDATE events SET workflow_started_at = now() WHERE operator_id = $1 AND event_id = ANY($2)',
        [op.id, [event.id, other.id]],
      );
    }
    const statements = seen.filter((s) => !/^(BEGIN|COMMIT|ROLLBACK)\b/.test(s.text));
    assert.deepEqual(
      statements.filter((s) => !s.name).map((s) => s.text.slice(0, 80)),
      [],
      'every statement named',
    );
    const names = statements.map((s) => s.name);
    assert.ok(names.includes('apply-event:find-subscriptions-1'), names.join());
    assert.ok(names.includes('deliveries:ensure-1'), names.join());
    assert.ok(names.includes('apply-event:record-new-1'), names.join());
  });
});

describe("a customer's row in an event's application", () => {
  type Seen = { name: string | null; text: string };
  const customerStatements = (seen: Seen[]) =>
    seen.filter((s) => /\b(INSERT INTO|UPDATE|FROM) customers\b/.test(s.text)).map((s) => s.name);
  const recordAndApply = async (event: ReturnType<typeof registration> | ReturnType<typeof deposit>) => {
    const seen: Seen[] = [];
    const pool = inspectedPool(sys.pool, (s) => void seen.push(s), { transactions: true });
    try {
      const applied = await recordAndApplyTx(pool, newEventOf(op.id, event));
      assert.ok(applied);
      return { applied, statements: customerStatements(seen) };
    } finally {
      await sys.pool.query(
        'UPDATE events SET workflow_started_at = now() WHERE operator_id = $1 AND event_id = $2',
        [op.id, event.id],
      );
    }
  };
  const customerRow = async (customerId: string) =>
    (
      await sys.pool.query<Record<string, unknown>>(
        `SELECT attribution, attributed_by_event_id, country, registered_at::text AS registered_at
           FROM customers WHERE operator_id = $1 AND customer_id = $2`,
        [op.id, customerId],
      )
    ).rows[0];

  it("is created, locked and bound by a new customer's registration in one statement", async () => {
    const affiliateId = uniqueId('aff');
    const event = registration(uniqueId('player'), { attribution: { affiliateId, clickId: 'c-1' } });
    const { applied, statements } = await recordAndApply(event);
    // Before: the row made, then locked and read, then bound: three round trips.
    assert.deepEqual(statements, ['apply-event:ensure-customer-2']);
    assert.deepEqual(applied.facts.effectiveAttribution, { affiliateId, clickId: 'c-1' });
    assert.deepEqual(await customerRow(event.customerId), {
      attribution: { affiliateId, clickId: 'c-1' },
      attributed_by_event_id: event.id,
      country: 'DE',
      registered_at: '2026-11-27 10:00:00+00',
    });
  });

  it('is locked, then bound, when the registration comes after an event that made it', async () => {
    const customerId = uniqueId('player');
    const affiliateId = uniqueId('aff');
    const early = await recordAndApply(deposit(customerId));
    assert.deepEqual(early.statements, ['apply-event:ensure-customer-2', 'apply-event:claim-ftd']);
    assert.equal(early.applied.facts.effectiveAttribution, null);
    const event = registration(customerId, { attribution: { affiliateId } });
    const { applied, statements } = await recordAndApply(event);
    assert.deepEqual(statements, [
      'apply-event:ensure-customer-2',
      'apply-event:lock-customer-2',
      'apply-event:attribute',
    ]);
    assert.deepEqual(applied.facts.effectiveAttribution, { affiliateId });
    assert.deepEqual((await customerRow(customerId))?.attribution, { affiliateId });
    // A second registration finds it bound and changes nothing.
    const again = await recordAndApply(
      registration(customerId, { attribution: { affiliateId: 'aff-other' } }),
    );
    assert.deepEqual(again.statements, ['apply-event:ensure-customer-2', 'apply-event:lock-customer-2']);
    assert.deepEqual((await customerRow(customerId))?.attribution, { affiliateId });
  });
});
