import { ApplicationFailure } from '@temporalio/common';
import {
  ensureDeliveries,
  pendingDeliveries,
  reopenForReplay,
  type Delivery,
  type NewDelivery,
} from '../src/db/deliveries.js';
import { deliveryPolicy, findEndpoint, operatorRetryPolicy, type Endpoint } from '../src/db/endpoints.js';
import { findEvent } from '../src/db/events.js';
import { withTransaction, type Pool, type PoolClient } from '../src/db/pool.js';
import {
  advanceReplay,
  endReplay,
  findReplay,
  readReplayPage,
  type Replay,
  type ReplayFeedItem,
} from '../src/db/replays.js';
import { ACTIVITY_FAILURES } from '../src/domain/activity-failures.js';
import type { EventType } from '../src/domain/event-types.js';
import {
  countDecisions,
  decideReplay,
  type ReplayCounts,
  type ReplayDecision,
} from '../src/domain/replay.js';
import { filterSubject } from '../src/domain/routing-filter.js';
import { deliveryPlans } from './apply-event.js';
import type { ActivityPorts } from './ports.js';

/**
 * The replay workflow's activities (workflows/replay-endpoint.ts): one page of the feed at a time, judged
 * (src/domain/replay.ts) and queued in one transaction with the replay's progress, then handed to each
 * event's workflow with one signal per event. Idempotent by (replay, page number): a page retried after its
 * transaction committed signals what it queued again and queues nothing.
 */
export interface ReplayDeps {
  pool: Pool;
  ports?: ActivityPorts | undefined;
}

export interface ReplayPageInput {
  operatorId: string;
  replayId: string;
  /** The page's number, from 0: the replay row counts the pages dealt with. */
  page: number;
  pageSize: number;
}

export interface ReplayPageResult {
  /** No page is left: the range is done, or the replay was cancelled. */
  done: boolean;
  /** What this page added (nothing when it was dealt with before). */
  counts: ReplayCounts | null;
}

/** Deals with one page of a replay's range; see the module's header. */
export async function replayFeedPage(deps: ReplayDeps, input: ReplayPageInput): Promise<ReplayPageResult> {
  const step = await withTransaction(deps.pool, async (tx) => {
    const replay = await findReplay(tx, input.operatorId, input.replayId, { forUpdate: true });
    if (!replay) throw gone(`replay ${input.replayId} not found`);
    // Retried after its transaction committed: signal what it queued again.
    if (replay.pages > input.page) {
      return { replay, queued: replay.lastPage, done: replay.status !== 'running', counts: null };
    }
    if (replay.status !== 'running') return { replay, queued: {}, done: true, counts: null };
    const endpoint = await findEndpoint(tx, input.operatorId, replay.endpointId);
    if (!endpoint) throw gone(`endpoint ${replay.endpointId} was deleted`);
    const items = await readReplayPage(tx, replay, replay.cursor, input.pageSize);
    const decisions = items.map((item) => decideReplay(subscriptionOf(replay, endpoint), asItem(item)));
    const queued = await queue(tx, replay, endpoint, items, decisions);
    const counts = countDecisions(decisions, Object.values(queued).flat().length);
    const done = items.length < input.pageSize;
    const cursor = items.length ? items[items.length - 1]!.position : replay.cursor;
    await advanceReplay(tx, replay.id, { cursor, queued, counts, done });
    return { replay, queued, done, counts };
  });
  await signalQueued(deps, step.replay, step.queued);
  return { done: step.done, counts: step.counts };
}

/** Ends a replay that cannot go on (its workflow caught a failure it cannot retry). */
export async function failReplay(deps: ReplayDeps, input: { replayId: string; reason: string }) {
  await endReplay(deps.pool, input.replayId, 'failed', input.reason.slice(0, 1000));
}

function gone(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ACTIVITY_FAILURES.replayTargetGone);
}

function subscriptionOf(replay: Replay, endpoint: Endpoint) {
  return {
    eventTypes: replay.eventTypes,
    affiliateId: replay.affiliateId,
    filter: replay.filter,
    postback:
      endpoint.format === 'postback' ? { url: endpoint.url, settings: endpoint.postback ?? {} } : null,
    missingOnly: replay.missingOnly,
  };
}

function asItem(item: ReplayFeedItem) {
  return {
    deliveredType: item.deliveredType,
    affiliateId: item.affiliateId,
    subject: filterSubject({
      brand: item.brand,
      attribution: item.attribution,
      data: item.data,
      customerCountry: item.customerCountry,
    }),
    delivery: item.delivery,
  };
}

/**
 * Puts the page's ended deliveries back to pending and makes the missing ones; answers what it queued,
 * event id -> delivery ids. A delivery that moved on meanwhile (already pending again) is not reopened.
 */
async function queue(
  tx: PoolClient,
  replay: Replay,
  endpoint: Endpoint,
  items: ReplayFeedItem[],
  decisions: ReplayDecision[],
): Promise<Record<string, string[]>> {
  const queued: Record<string, string[]> = {};
  const add = (eventId: string, id: string) => (queued[eventId] ??= []).push(id);
  const reopen = items.filter((_, i) => decisions[i]!.kind === 'reopen').map((it) => it.delivery!.id);
  if (reopen.length) {
    for (const d of await reopenForReplay(tx, replay.operatorId, reopen)) add(d.eventId, d.id);
  }
  const wanted = new Map<string, { workflowId: string; deliveries: NewDelivery[] }>();
  let policy: NewDelivery['retryPolicy'] | undefined;
  for (const [i, item] of items.entries()) {
    const decision = decisions[i]!;
    if (decision.kind !== 'create') continue;
    policy ??= deliveryPolicy(endpoint, await operatorRetryPolicy(tx, replay.operatorId));
    const entry = wanted.get(item.eventId) ?? { workflowId: item.workflowId, deliveries: [] };
    entry.deliveries.push({
      endpointId: endpoint.id,
      eventType: item.deliveredType,
      retryPolicy: policy,
      routing: decision.routing,
    });
    wanted.set(item.eventId, entry);
  }
  for (const [eventId, { workflowId, deliveries }] of wanted) {
    const all = await ensureDeliveries(tx, replay.operatorId, eventId, workflowId, deliveries);
    for (const d of all.filter((d) => isNew(d, endpoint.id, deliveries))) add(eventId, d.id);
  }
  return queued;
}

function isNew(d: Delivery, endpointId: string, wanted: NewDelivery[]): boolean {
  return (
    d.endpointId === endpointId &&
    d.status === 'pending' &&
    d.attemptCount === 0 &&
    wanted.some((w) => w.eventType === d.eventType)
  );
}

/**
 * Hands each event's queued deliveries that are still pending to its workflow: one signal per event, or a
 * new run when it has closed (the port's signal-with-start).
 */
async function signalQueued(deps: ReplayDeps, replay: Replay, queued: Record<string, string[]>) {
  for (const [eventId, ids] of Object.entries(queued)) {
    const pending = await pendingDeliveries(deps.pool, ids);
    if (!pending.length || !deps.ports) continue;
    const event = await findEvent(deps.pool, replay.operatorId, eventId);
    if (!event) continue;
    const affiliateId = event.facts?.effectiveAttribution?.affiliateId;
    await deps.ports.replayDeliveries(
      {
        workflowId: event.workflowId,
        operatorId: replay.operatorId,
        eventId,
        type: event.type as EventType,
        customerId: event.customerId,
        affiliateId: typeof affiliateId === 'string' ? affiliateId : null,
      },
      await deliveryPlans(deps.pool, pending),
    );
  }
}
