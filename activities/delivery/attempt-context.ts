import { Context } from '@temporalio/activity';
import { mustAbort } from '../../src/db/deliveries.js';
import type { DeliverDeps } from './types.js';

/** Heartbeats start once an activity has run this long: the happy path sends none. */
export const HEARTBEAT_AFTER_MS = 1_000;

/**
 * What a running delivery activity owes Temporal: heartbeats while it runs longer than a second (so a
 * dead worker is noticed at the heartbeat timeout, and a cancellation reaches a running attempt; a local
 * attempt, which Temporal's cancellation does not reach while it runs, asks PostgreSQL instead), and an
 * abort signal that fires when the delivery is really being cancelled (cancelled by request, endpoint
 * disabled or deleted). A cancellation for a retry-now leaves the attempt on the wire to finish: its own
 * outcome counts, and nothing is sent twice.
 */
export function attemptContext(deps: DeliverDeps, deliveryId: string) {
  const abort = new AbortController();
  const context = currentContext();
  if (!context) return { signal: abort.signal, stop: () => {} };
  let asking = false;
  const onCancel = () => {
    if (asking || abort.signal.aborted) return;
    asking = true;
    mustAbort(deps.pool, deliveryId)
      .then(
        (yes) => yes && abort.abort(),
        // PostgreSQL away: let the attempt finish; it is logged like any other.
        () => {},
      )
      .finally(() => (asking = false));
  };
  // A local attempt hears of its workflow's cancellation only once it has ended (checked: a cancel during
  // an 8 s answer waited the 8 s), so past its first second it asks PostgreSQL itself, once a second.
  const beat = setInterval(context.info.isLocal ? onCancel : () => context.heartbeat(), HEARTBEAT_AFTER_MS);
  context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  return {
    signal: abort.signal,
    stop() {
      clearInterval(beat);
      context.cancellationSignal.removeEventListener('abort', onCancel);
    },
  };
}

function currentContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null; // called outside an activity (a test)
  }
}
