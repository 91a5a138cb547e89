import { disableEndpoint, findEndpoint } from '../../src/db/endpoints.js';
import { findSubscribedEndpoints } from '../../src/db/endpoint-subscriptions.js';
import { findEvent } from '../../src/db/events.js';
import { CANCEL_REASONS } from '../../src/domain/cancel-reasons.js';
import {
  isOperationalEventType,
  type EmittedEventType,
  type OperationalEventType,
} from '../../src/domain/event-types.js';
import { followBreaker } from './breaker.js';
import type { Recorded } from './record.js';
import type { AttemptSubject, Decision, DeliverDeps, DeliverOutcome, RetryingOutcome } from './types.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * What follows a logged attempt: the reversal a delivered-while-overtaken conversion owes, endpoint
 * health (410, failing too long, its breaker moving), operational events. Returns where the delivery stands. Best effort
 * except the reversal, whose failure is thrown: the retried activity finds the delivery finished and
 * only sends the reversal, never the request again.
 */
export async function followUp(
  deps: DeliverDeps,
  s: AttemptSubject,
  decision: Decision,
  recorded: Recorded,
  opts: { signalWorkflow: boolean; previousStatus?: string },
): Promise<DeliverOutcome | RetryingOutcome> {
  const attempt = decision.line.number;
  const done = (status: DeliverOutcome['status'], error = decision.error): DeliverOutcome => ({
    status,
    attempt,
    statusCode: decision.statusCode,
    error,
  });
  const ops = operationalEvents(deps, s);
  await followBreaker(deps, s, recorded, ops.emit);
  if (decision.status === 'succeeded') {
    if (recorded.status === 'succeeded' && recorded.replacedByEventId)
      await sendOvertakenReversal(deps, s, recorded.replacedByEventId);
    if (s.scheduleAttempt > (deps.health?.failingAfterAttempts ?? Infinity))
      await ops.emit('delivery.recovered', `${s.redriveCount}`, { attempt });
    return done('succeeded');
  }
  if (decision.status === 'cancelled') return done('cancelled');
  if (decision.verdict === 'gone') {
    if (await bestEffort(deps, s, () => disableEndpoint(deps.pool, s.endpointId, 'gone'))) {
      deps.logger?.warn(
        { deliveryId: s.deliveryId, endpointId: s.endpointId },
        'endpoint answered 410: disabled',
      );
      deps.ports?.endEndpointWaits(s.operatorId, s.endpointId, CANCEL_REASONS.endpointDisabled);
      await ops.emit('endpoint.disabled', 'gone', { reason: 'gone' });
    }
    return done('failed', 'HTTP 410 Gone: endpoint disabled');
  }
  if (decision.verdict !== 'rejected') await checkHealth(deps, s, decision, recorded);
  if (decision.status === 'failed') {
    // A postback the tracker refused (a 4xx), or the policy spent: the dead letter.
    await ops.emit('delivery.exhausted', `${s.redriveCount}`, { attempt, lastError: decision.error });
    return done('failed');
  }
  // Cancelled (or finished) while the attempt was on the wire: it stays as it is.
  if (TERMINAL.has(recorded.status)) return done(recorded.status as DeliverOutcome['status']);
  const failure = {
    attempt,
    nextAttemptAt: decision.nextAttemptAt!,
    error: decision.error ?? 'failed',
    statusCode: decision.statusCode,
    errorClass: decision.line.errorClass,
  };
  if (s.scheduleAttempt === deps.health?.failingAfterAttempts) {
    await ops.emit('delivery.failing', `${s.redriveCount}`, {
      attempt,
      lastError: decision.error,
      nextAttemptAt: decision.nextAttemptAt,
    });
  }
  if (opts.signalWorkflow && startsRetrying(opts.previousStatus)) await signalAttemptFailed(deps, s, failure);
  return { status: 'retrying', delayMs: decision.delayMs!, ...failure };
}

/** Only failures for the whole period: the endpoint is disabled, its pending retries end cancelled. */
async function checkHealth(deps: DeliverDeps, s: AttemptSubject, decision: Decision, recorded: Recorded) {
  const { failingSince } = recorded;
  if (!failingSince || !deps.health) return;
  if (Date.parse(decision.line.startedAt) - failingSince.getTime() < deps.health.disableAfterMs) return;
  if (await bestEffort(deps, s, () => disableEndpoint(deps.pool, s.endpointId, 'failing'))) {
    deps.ports?.endEndpointWaits(s.operatorId, s.endpointId, CANCEL_REASONS.endpointDisabled);
    await operationalEvents(deps, s).emit('endpoint.disabled', 'failing', {
      reason: 'failing',
      failingSince: failingSince.toISOString(),
    });
  }
}

/**
 * Whether a failed server-side attempt changes what the workflow shows: only the first failure, when the
 * delivery goes from pending (or handed over undecided) to `retrying`. Each later failure is the same
 * state, retried by Temporal on its own: signalling it would cost a signal, a workflow task and a
 * search-attribute upsert per attempt (issue 16), for figures PostgreSQL and the pending activity already
 * hold. `previousStatus` is the delivery's status before this attempt, as PostgreSQL had it.
 */
function startsRetrying(previousStatus: string | undefined): boolean {
  return previousStatus !== 'retrying';
}

/**
 * Lets the workflow show that the delivery started retrying (a local attempt's failure reaches the
 * workflow directly); losing this signal loses only visibility.
 */
async function signalAttemptFailed(
  deps: DeliverDeps,
  s: AttemptSubject,
  failure: { attempt: number; nextAttemptAt: string; error: string },
) {
  if (!deps.ports) return;
  await deps.ports
    .reportAttemptFailed(s.workflowId, { deliveryId: s.deliveryId, ...failure })
    .catch((err: Error) =>
      deps.logger?.warn({ deliveryId: s.deliveryId, err: err.message }, 'attempt signal failed'),
    );
}

async function bestEffort<T>(deps: DeliverDeps, s: AttemptSubject, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    deps.logger?.warn({ deliveryId: s.deliveryId, err: (err as Error).message }, 'delivery follow-up failed');
    return null;
  }
}

/**
 * Operational events about this delivery, sent to the operator's endpoints that subscribe to them. Never
 * for deliveries of operational events themselves (a failing endpoint would otherwise feed itself), and
 * best effort: the event row is durable and the reconciler starts it if Temporal was away.
 */
export function operationalEvents(deps: DeliverDeps, s: AttemptSubject) {
  return {
    async emit(type: OperationalEventType, discriminator: string, extra: Record<string, unknown>) {
      if (!deps.ports || isOperationalEventType(s.eventType)) return;
      try {
        // Each one is a workflow: none unless an endpoint of the operator listens for this type.
        if (!(await findSubscribedEndpoints(deps.pool, s.operatorId, type, null)).length) return;
        const aboutEndpoint = type.startsWith('endpoint.');
        const subject = aboutEndpoint ? s.endpointId : s.deliveryId;
        await deps.ports.emitInternalEvent(
          { startTimeoutMs: 5_000 },
          {
            operatorId: s.operatorId,
            key: `${type}~${subject}~${aboutEndpoint ? Date.now() : discriminator}`,
            type,
            data: {
              endpointId: s.endpointId,
              ...(aboutEndpoint
                ? {}
                : { deliveryId: s.deliveryId, eventId: s.eventId, eventType: s.eventType }),
              ...extra,
            },
          },
        );
      } catch (err) {
        deps.logger?.warn(
          { deliveryId: s.deliveryId, type, err: (err as Error).message },
          'operational event not emitted',
        );
      }
    },
  };
}

/**
 * A rejection or reversal cancelled this conversion delivery while its attempt was on the wire, and the
 * attempt got through: the endpoint has seen the conversion, so it must see the reversal too. It gets the
 * overtaking notification as an event of its own, for this endpoint only, with the same data. Idempotent
 * (a fixed id), so a retried activity sends it once.
 */
export async function sendOvertakenReversal(deps: DeliverDeps, s: AttemptSubject, reversalEventId: string) {
  if (!deps.ports) return; // the settlement's own dispatch has no such endpoint
  const reversal = await findEvent(deps.pool, s.operatorId, reversalEventId);
  const endpoint = await findEndpoint(deps.pool, s.operatorId, s.endpointId);
  if (!reversal || !endpoint) return;
  const payload = reversal.payload as {
    data: Record<string, unknown>;
    attribution?: Record<string, unknown>;
  };
  await deps.ports.emitInternalEvent(
    { startTimeoutMs: 10_000 },
    {
      operatorId: s.operatorId,
      key: `${reversalEventId.replace(/^sys~/, '')}~${s.endpointId}`,
      type: reversal.type as EmittedEventType,
      data: payload.data,
      onlyEndpoint: endpoint,
      customerId: reversal.customerId,
      attribution: payload.attribution ?? null,
      commissionEntryId: reversal.commissionEntryId,
    },
  );
}
