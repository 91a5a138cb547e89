import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliver } from '../../activities/delivery/deliver.js';
import { deliveryWaitingAnHour, handDeliveryDeps, inspectedPool } from '../support/attempt-by-hand.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * An attempt's two large statements, the claim and the attempt log, reach PostgreSQL as named prepared
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
