import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { reserveSendSlot } from '../../src/db/rate-limit.js';
import { ACTIVITY_FAILURES } from '../../src/domain/activity-failures.js';
import { rateLimitWaits } from '../../src/metrics.js';
import type { DeliverDeps, DeliveryContext } from './types.js';

/**
 * Waits longer than this for a send slot are handed to Temporal (the activity fails with `RateLimited`
 * and `nextRetryDelay` = the wait, a server-side timer); shorter ones are slept in-process.
 */
export const SLOT_SLEEP_MAX_MS = 1_000;

/**
 * Takes this delivery's send slot on a rate-limited endpoint: the one it reserved on an earlier try, or a
 * new reservation. Returns once the slot has come; throws `RateLimited` when it is further away than
 * {@link SLOT_SLEEP_MAX_MS}. That throw is not an attempt: nothing was sent or logged, and the retry sends
 * in the reserved slot.
 */
export async function takeSendSlot(deps: DeliverDeps, ctx: DeliveryContext, deliveryId: string) {
  const perSecond = ctx.rate_limit_per_second;
  if (!perSecond) return;
  let waitMs = ctx.slot_wait_ms;
  if (waitMs === null) {
    waitMs = await reserveSendSlot(deps.pool, deliveryId, ctx.endpoint_id, perSecond, SLOT_SLEEP_MAX_MS);
  } else if (ctx.in_flight_attempt === null) {
    // Woken before the slot it holds (retry-now): wait for it again; the claim set no in-flight mark.
    waitMs = Math.max(waitMs, SLOT_SLEEP_MAX_MS + 1);
  }
  if (waitMs > SLOT_SLEEP_MAX_MS) {
    rateLimitWaits.inc({ wait: 'temporal' });
    throw ApplicationFailure.create({
      type: ACTIVITY_FAILURES.rateLimited,
      message: `endpoint rate limit (${perSecond}/s): waiting ${waitMs} ms for the send slot held`,
      nextRetryDelay: waitMs,
    });
  }
  if (waitMs > 0) {
    rateLimitWaits.inc({ wait: 'in_process' });
    await sleep(waitMs);
  }
}
