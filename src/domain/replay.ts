/**
 * Replaying an endpoint from the catch-up feed: what becomes of each feed item in the replay's range. Pure
 * and workflow-safe; the replay activity (activities/replay.ts) reads the items and acts on the decisions.
 *
 * Invariant: an item is sent again under its original delivery's id (its `webhook-id`) whenever one exists
 * for (event, endpoint, delivered type), so a receiver that has it already deduplicates it; a new delivery
 * is made only for an item the endpoint never had one for. An item whose delivery is still on its way
 * (pending, retrying) is left to it: a replay never sends an item twice at once.
 */
import { subscribes } from './matching.js';
import { postbackCarriage } from './postback/meaning.js';
import { resolvePostbackConfig, type PostbackSettings } from './postback/presets.js';
import { routeThrough, type FilterSubject, type RoutingFilter } from './routing-filter.js';

/** What the endpoint receives, as it was when the replay was asked for. */
export interface ReplaySubscription {
  eventTypes: readonly string[];
  affiliateId: string | null;
  filter: RoutingFilter | null;
  /** Its url and postback settings when it is a postback endpoint (what a tracker can carry). */
  postback: { url: string; settings: PostbackSettings } | null;
  /** Skip the items whose delivery has succeeded (Svix's "replay missing"); default: send them again. */
  missingOnly: boolean;
}

/** One feed item as the replay sees it. */
export interface ReplayItem {
  /** The type it was emitted (and is delivered) as. */
  deliveredType: string;
  /** The affiliate the feed row was written for (its effective attribution); null when none. */
  affiliateId: string | null;
  subject: FilterSubject;
  /** The endpoint's delivery of this item, if it ever had one. */
  delivery: { status: string; replaced: boolean } | null;
}

export type SkipReason = 'not_subscribed' | 'filtered' | 'succeeded' | 'replaced';

export type ReplayDecision =
  | { kind: 'skip'; reason: SkipReason }
  /** Its delivery is still pending or retrying: it goes out on its own schedule. */
  | { kind: 'in_progress' }
  /** Its delivery (failed, cancelled, or succeeded and sent again) is put back to pending. */
  | { kind: 'reopen'; resend: boolean }
  /** The endpoint never had a delivery of it: a new one, with the filter's record of why. */
  | { kind: 'create'; routing: ReturnType<typeof routeThrough>['routing'] };

const UNDER_WAY = new Set(['pending', 'retrying']);

/** What the replay does with one item. */
export function decideReplay(sub: ReplaySubscription, item: ReplayItem): ReplayDecision {
  const subscription = { eventTypes: sub.eventTypes, affiliateId: sub.affiliateId, enabled: true };
  if (!subscribes(subscription, item.deliveredType, item.affiliateId) || !carries(sub, item.deliveredType))
    return { kind: 'skip', reason: 'not_subscribed' };
  const { deliver, routing } = routeThrough(sub.filter, item.subject);
  if (!deliver) return { kind: 'skip', reason: 'filtered' };
  const d = item.delivery;
  if (!d) return { kind: 'create', routing };
  // Its conversion was replaced by a later event: what stands is the replacement's delivery.
  if (d.replaced) return { kind: 'skip', reason: 'replaced' };
  if (UNDER_WAY.has(d.status)) return { kind: 'in_progress' };
  if (d.status === 'succeeded') {
    return sub.missingOnly ? { kind: 'skip', reason: 'succeeded' } : { kind: 'reopen', resend: true };
  }
  return { kind: 'reopen', resend: false };
}

/**
 * A postback endpoint subscribed through a wildcard gets only what a tracker can carry (as at fan-out:
 * activities/apply-event.ts); a type it names explicitly is always its to receive.
 */
function carries(sub: ReplaySubscription, type: string): boolean {
  if (!sub.postback || sub.eventTypes.includes(type)) return true;
  const resolved = resolvePostbackConfig(sub.postback.url, sub.postback.settings);
  return !resolved.ok || postbackCarriage(resolved.config, type).carried;
}

/** A replay's counts, as its progress shows them. */
export interface ReplayCounts {
  scanned: number;
  queued: number;
  resentSucceeded: number;
  inProgress: number;
  skippedNotSubscribed: number;
  skippedFiltered: number;
  skippedSucceeded: number;
  skippedReplaced: number;
}

export const NO_COUNTS: ReplayCounts = {
  scanned: 0,
  queued: 0,
  resentSucceeded: 0,
  inProgress: 0,
  skippedNotSubscribed: 0,
  skippedFiltered: 0,
  skippedSucceeded: 0,
  skippedReplaced: 0,
};

const SKIP_COUNTER: Record<SkipReason, keyof ReplayCounts> = {
  not_subscribed: 'skippedNotSubscribed',
  filtered: 'skippedFiltered',
  succeeded: 'skippedSucceeded',
  replaced: 'skippedReplaced',
};

/**
 * The counts of a page's decisions. `queued` counts what the page actually put back or made (`queuedNow`):
 * a delivery that changed state between the read and the write is counted where it went, in progress.
 */
export function countDecisions(decisions: readonly ReplayDecision[], queuedNow: number): ReplayCounts {
  const counts = { ...NO_COUNTS, scanned: decisions.length };
  let wanted = 0;
  for (const d of decisions) {
    if (d.kind === 'skip') counts[SKIP_COUNTER[d.reason]]++;
    else if (d.kind === 'in_progress') counts.inProgress++;
    else {
      wanted++;
      if (d.kind === 'reopen' && d.resend) counts.resentSucceeded++;
    }
  }
  counts.queued = Math.min(queuedNow, wanted);
  counts.inProgress += wanted - counts.queued;
  return counts;
}

/** A position in the feed: (transaction id, sequence) as decimal strings (src/db/feed.ts). */
export interface Position {
  xid: string;
  seq: string;
}

/** Whether feed position `a` comes before `b`. */
export function positionBefore(a: Position, b: Position): boolean {
  const [ax, bx] = [BigInt(a.xid), BigInt(b.xid)];
  return ax < bx || (ax === bx && BigInt(a.seq) < BigInt(b.seq));
}

/**
 * The end (excluded) of a replay's range: just after the item `until` names, or the feed's horizon when
 * absent, and never past the horizon (nothing can be read there yet, and what is written later is being
 * delivered anyway).
 */
export function replayEnd(until: Position | null, horizon: Position): Position {
  if (!until) return horizon;
  const end = { xid: until.xid, seq: (BigInt(until.seq) + 1n).toString() };
  return positionBefore(end, horizon) ? end : horizon;
}
