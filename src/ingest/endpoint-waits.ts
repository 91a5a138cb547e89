import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { finishDelivery } from '../db/deliveries.js';
import type { Pool } from '../db/pool.js';
import { waitingDeliveriesOfEndedEndpoint, type WaitingDelivery } from '../db/waiting-deliveries.js';
import type { EndpointEndedReason } from '../domain/cancel-reasons.js';
import { cancelDelivery } from '../temporal/event-signals.js';
import { boundedWait } from '../temporal/timeout.js';

/**
 * An endpoint disabled or deleted ends its waiting deliveries at once, through their event workflows: each
 * pending or retrying one is cancelled with the reason (`endpoint_disabled`, `endpoint_deleted`), an
 * attempt on the wire has its request aborted, and each workflow completes once nothing else of it waits.
 * Without this they would wait out their next attempt (up to hours) before the attempt found the endpoint
 * gone, the API saying `retrying` and the Web UI `Running` meanwhile; that check stays as the safety net
 * for whatever a sweep does not reach (the process stopped, Temporal away).
 */
export interface EndpointWaitsDeps {
  pool: Pool;
  client: () => Promise<Client>;
}

export interface EndpointWaitsOptions {
  /** Deliveries read per page (keyset on id): a backlog of thousands holds no query or transaction long. */
  batchSize?: number;
  /** Signals in flight at once within a page. */
  concurrency?: number;
}

export interface EndedWaits {
  /** Deliveries whose workflow was told to cancel them. */
  signalled: number;
  /** Deliveries whose workflow has closed (or never existed): nothing waits there, the row is ended here. */
  closed: number;
}

/**
 * Cancels every waiting delivery of an endpoint that is disabled or deleted, page by page; stops early,
 * cancelling nothing more, once the endpoint is enabled again. Rejects when Temporal fails a signal other
 * than for a closed workflow: the deliveries not reached end at their next attempt instead.
 */
export async function endEndpointWaits(
  deps: EndpointWaitsDeps,
  operatorId: string,
  endpointId: string,
  reason: EndpointEndedReason,
  opts: EndpointWaitsOptions = {},
): Promise<EndedWaits> {
  const batchSize = opts.batchSize ?? 100;
  const concurrency = opts.concurrency ?? 8;
  const ended: EndedWaits = { signalled: 0, closed: 0 };
  let after: string | null = null;
  for (;;) {
    const page = await waitingDeliveriesOfEndedEndpoint(deps.pool, operatorId, endpointId, after, batchSize);
    if (!page.length) return ended;
    after = page[page.length - 1]!.id;
    const client = await deps.client();
    for (let i = 0; i < page.length; i += concurrency) {
      const told = await Promise.all(
        page.slice(i, i + concurrency).map((d) => tell(deps, client, d, reason)),
      );
      for (const t of told) ended[t] += 1;
    }
    if (page.length < batchSize) return ended;
  }
}

/** Asks the delivery's workflow to cancel it; a workflow that has closed leaves the row to end here. */
async function tell(
  deps: EndpointWaitsDeps,
  client: Client,
  d: WaitingDelivery,
  reason: EndpointEndedReason,
): Promise<keyof EndedWaits> {
  try {
    await boundedWait(cancelDelivery(client, d.workflowId, d.id, reason), 5_000, 'the cancel signal');
    return 'signalled';
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // No run of it is open: nothing will attempt it again, so it ends here (a no-op if it ended meanwhile).
    await finishDelivery(deps.pool, d.id, 'cancelled', reason);
    return 'closed';
  }
}

/**
 * Runs endEndpointWaits after the HTTP answer: a backlog of thousands takes a signal each, longer than a
 * request should be held. Its outcome is logged; what it leaves behind ends at its next attempt.
 */
export function endEndpointWaitsInBackground(
  deps: EndpointWaitsDeps & { logger?: Logger | undefined },
  operatorId: string,
  endpointId: string,
  reason: EndpointEndedReason,
): void {
  const log = deps.logger?.child({ operatorId, endpointId, reason });
  endEndpointWaits(deps, operatorId, endpointId, reason).then(
    (ended) => {
      if (ended.signalled || ended.closed) log?.info(ended, 'waiting deliveries of the endpoint ended');
    },
    (err: Error) =>
      log?.warn(
        { err: err.message },
        'ending waiting deliveries stopped: the rest end at their next attempt',
      ),
  );
}
