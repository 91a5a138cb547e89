import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliver } from '../../activities/delivery/deliver.js';
import { recordDeliveryOutcome } from '../../activities/delivery/record-outcome.js';
import type { Pool } from '../../src/db/pool.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { retryDeliverySignal } from '../../workflows/definitions.js';
import { deliveryWaitingAnHour, handDeliveryDeps, inspectedPool } from '../support/attempt-by-hand.js';
import { uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Bookkeeping never sends again: an attempt that went out and could not be logged (PostgreSQL refusing
 * writes to the attempt log) comes back as data, and logging it later sends nothing.
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

/** The real pool, except that every write to the attempt log fails as if PostgreSQL had gone away. */
function poolLosingTheLog(pool: Pool): Pool {
  return inspectedPool(pool, ({ text }) => {
    if (
      /INSERT INTO delivery_attempts \(delivery_id, number, started_at, duration_ms, status_code/.test(text)
    )
      return Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      });
  });
}

describe('an attempt that cannot be logged', () => {
  it('is returned unrecorded after a few in-process tries, sent once, and logged later without a send', async () => {
    const path = `/unlogged-${uniqueId('aff')}`;
    const { deliveryId, eventId } = await deliveryWaitingAnHour(sys, rx, op, path);

    // Attempt 2, by hand, while the workflow waits out its hour: the receiver answers 200 (its default).
    const { deps, close } = handDeliveryDeps(poolLosingTheLog(sys.pool));
    try {
      const result = await deliver(deps, { deliveryId, driveBase: 0 });
      assert.equal(result.status, 'unrecorded');
      assert.equal(rx.requests(path).length, 2, 'sent once');
      if (result.status !== 'unrecorded') return;
      assert.equal(result.decision.status, 'succeeded');
      assert.equal(result.decision.line.number, 2);

      // PostgreSQL is back: the workflow's record-only step logs it, and sends nothing.
      const recorded = await recordDeliveryOutcome({ ...deps, pool: sys.pool }, result);
      assert.equal(recorded.status, 'succeeded');
      assert.equal(rx.requests(path).length, 2);
    } finally {
      close();
    }
    const detail = await sys.request('GET', `/v1/deliveries/${deliveryId}`, { apiKey: op.apiKey });
    assert.equal(detail.body.status, 'succeeded');
    assert.deepEqual(
      detail.body.attempts.map((a: any) => [a.number, a.statusCode]),
      [
        [1, 500],
        [2, 200],
      ],
    );
    // The workflow, woken, finds the delivery finished and ends without another request.
    const handle = sys.client.workflow.getHandle(eventWorkflowId(op.id, eventId));
    await handle.signal(retryDeliverySignal, { deliveryId });
    const final = await handle.result();
    assert.equal(final.deliveries[0]!.status, 'succeeded');
    assert.equal(rx.requests(path).length, 2);
  });
});
