import type { Client } from '@temporalio/client';
import { findSubscribedEndpoints } from '../db/endpoint-subscriptions.js';
import { markWorkflowStarted } from '../db/events.js';
import { upsertAffiliate, type AffiliateStatus, type AffiliateUpsert } from '../db/ledger.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { affiliateEvents } from '../domain/affiliate-events.js';
import type { Deal } from '../domain/commission/deals.js';
import { filterSubject, routeAll } from '../domain/routing-filter.js';
import { recordInternalEvent, startInternalEvent, type RecordedInternalEvent } from './internal-event.js';

export interface PutAffiliateDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
  startTimeoutMs?: number;
}

/**
 * `PUT /v1/affiliates/{id}`: creates or replaces the affiliate and, in the same transaction, records the
 * `affiliate.*` events the change makes (src/domain/affiliate-events.ts), attributed to the affiliate and
 * fanned out to the endpoints subscribed at that moment, so an accepted change never loses its events.
 * Their workflows start after commit; with Temporal away the change still stands and the reconciler starts
 * them later.
 */
export async function putAffiliate(
  deps: PutAffiliateDeps,
  operatorId: string,
  affiliateId: string,
  fields: { name: string; status: AffiliateStatus; deal: Deal },
): Promise<AffiliateUpsert> {
  const { upsert, recorded } = await withTransaction(deps.pool, async (tx) => {
    const upsert = await upsertAffiliate(tx, operatorId, affiliateId, fields);
    return { upsert, recorded: await recordAffiliateEvents(tx, operatorId, upsert) };
  });
  await startRecorded(deps, operatorId, recorded);
  return upsert;
}

async function recordAffiliateEvents(
  tx: Queryable,
  operatorId: string,
  u: AffiliateUpsert,
): Promise<RecordedInternalEvent[]> {
  const a = u.affiliate;
  const events = affiliateEvents({
    affiliateId: a.affiliateId,
    name: a.name,
    status: a.status,
    dealModel: a.deal.model,
    previousStatus: u.previousStatus,
    created: u.created,
    changed: u.changed,
  });
  const recorded: RecordedInternalEvent[] = [];
  for (const e of events) {
    const attribution = { affiliateId: a.affiliateId };
    const subscribers = routeAll(
      await findSubscribedEndpoints(tx, operatorId, e.type, a.affiliateId),
      filterSubject({ attribution, data: e.data }),
    );
    if (!subscribers.length) continue; // like commission notifications: no subscriber, no event
    const r = await recordInternalEvent(
      tx,
      {
        operatorId,
        key: `${e.type}~${a.affiliateId}~${u.version}`,
        type: e.type,
        data: e.data,
        attribution,
      },
      subscribers,
    );
    if (r.inserted) recorded.push(r);
  }
  return recorded;
}

async function startRecorded(
  deps: PutAffiliateDeps,
  operatorId: string,
  recorded: RecordedInternalEvent[],
): Promise<void> {
  if (!recorded.length) return;
  try {
    const client = await deps.client();
    const opts = { client, taskQueue: deps.taskQueue, startTimeoutMs: deps.startTimeoutMs ?? 5_000 };
    for (const r of recorded) await startInternalEvent(opts, operatorId, r);
    await markWorkflowStarted(
      deps.pool,
      operatorId,
      recorded.map((r) => r.eventId),
      true,
    );
  } catch {
    // Temporal away or slow: the events are recorded, unconfirmed; the reconciler starts their workflows.
  }
}
