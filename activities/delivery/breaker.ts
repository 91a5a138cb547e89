import { ApplicationFailure } from '@temporalio/activity';
import { finishDelivery } from '../../src/db/deliveries.js';
import { ACTIVITY_FAILURES } from '../../src/domain/activity-failures.js';
import { breakerWait, DEFAULT_BREAKER, scheduleSpanMs } from '../../src/domain/breaker.js';
import type { OperationalEventType } from '../../src/domain/event-types.js';
import { breakerTransitions, breakerWaits } from '../../src/metrics.js';
import type { Recorded } from './record.js';
import type { AttemptSubject, DeliverDeps, DeliverOutcome, DeliveryContext } from './types.js';

/**
 * A delivery the endpoint's open breaker holds (claimAttempt marked it waiting; nothing was sent): it waits
 * on Temporal's server-side retry timer, no worker slot held and no attempt spent. The delivery named to
 * probe next waits until the probe is due; the others until a probe that succeeds wakes them (or their
 * recheck). A delivery whose whole schedule's time has passed since it began ends `failed` instead: the
 * breaker never makes a delivery outlive its schedule, and never ends one sooner.
 */
export async function waitForBreaker(
  deps: DeliverDeps,
  ctx: DeliveryContext,
  deliveryId: string,
  driveBase: number,
): Promise<DeliverOutcome> {
  const settings = deps.breaker ?? DEFAULT_BREAKER;
  const now = (deps.now ?? (() => new Date()))();
  const deadline = new Date(ctx.schedule_started_at.getTime() + scheduleSpanMs(ctx.retry_policy));
  const next = breakerWait(settings, {
    designated: ctx.breaker_prober,
    probeAt: ctx.breaker_probe_at,
    deadline,
    now,
  });
  if (next.end) {
    const made = ctx.attempt_count - driveBase;
    const reason =
      `endpoint breaker open: the retry schedule's time ran out while waiting for it ` +
      `(${made} attempt${made === 1 ? '' : 's'} made)`;
    await finishDelivery(deps.pool, deliveryId, 'failed', reason);
    return { status: 'failed', attempt: ctx.attempt_count, statusCode: null, error: reason };
  }
  breakerWaits.inc({ role: ctx.breaker_prober ? 'prober' : 'waiter' });
  throw ApplicationFailure.create({
    type: ACTIVITY_FAILURES.breakerOpen,
    message: ctx.breaker_prober
      ? `endpoint breaker open: this delivery probes it in ${next.waitMs} ms`
      : 'endpoint breaker open: waiting for a probe to succeed',
    nextRetryDelay: next.waitMs,
  });
}

/**
 * What follows an attempt that moved its endpoint's breaker: counted, logged, announced (`endpoint.breaker_*`
 * to the operator's endpoints that name them), and the deliveries waiting for it woken (closed) or the next
 * probe handed on (a probe failed). Best effort: a waiting delivery not woken looks again at its recheck.
 */
export async function followBreaker(
  deps: DeliverDeps,
  s: AttemptSubject,
  recorded: Recorded,
  emit: (type: OperationalEventType, discriminator: string, extra: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const change = recorded.breakerChange;
  if (!change) return;
  breakerTransitions.inc({ change });
  const log = { endpointId: s.endpointId, deliveryId: s.deliveryId, breaker: change };
  if (change === 'probe_failed') return deps.ports?.wakeBreakerWaits(s.endpointId, change);
  if (change === 'closed') {
    deps.logger?.info(log, 'endpoint breaker closed: waiting deliveries resume');
    deps.ports?.wakeBreakerWaits(s.endpointId, change);
    return emit('endpoint.breaker_closed', '', {});
  }
  deps.logger?.warn(log, 'endpoint breaker opened: one delivery at a time probes it');
  await emit('endpoint.breaker_opened', '', { nextProbeAt: recorded.breakerProbeAt?.toISOString() ?? null });
}
