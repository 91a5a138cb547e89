/**
 * After the load: wait (bounded) until everything is final, then see that the system recovered without a
 * hand: the API's /ready answers, and a few fresh events are accepted and delivered.
 */
import { randomBase62 } from '../src/db/new-id.js';
import type { Pool } from '../src/db/pool.js';
import type { Api } from './api-client.js';
import { BEHAVIOURS } from './behaviours.js';
import { deliveredCount, progress, runningEventWorkflows } from './observe.js';
import { affiliateOf } from './setup.js';
import type { FaultSystem } from './system.js';
import { sleep, type Timeline } from './timeline.js';

export const FRESH_EVENTS = 5;

/** Polls until every accepted event is processed, no delivery is open and every CPA is booked, or `settleMs`. */
export async function waitUntilFinal(o: {
  pool: Pool;
  sys: FaultSystem;
  operatorId: string;
  acceptedIds: string[];
  qualifying: Set<string>;
  settleMs: number;
  timeline: Timeline;
}): Promise<{ settled: boolean; settledInMs: number }> {
  const { acceptedIds, qualifying, settleMs } = o;
  const settleStart = Date.now();
  let lastProgress = 0;
  let settled = false;
  for (;;) {
    const s = await progress(o.pool, o.operatorId, acceptedIds);
    // The rows can be final a moment before their workflows close (a last workflow task waiting out a
    // killed worker's sticky timeout): final means both.
    if (
      s.processed === acceptedIds.length &&
      s.open === 0 &&
      s.accruals >= qualifying.size &&
      (await runningEventWorkflows(o.sys.temporalAddress)) === 0
    ) {
      settled = true;
      break;
    }
    if (Date.now() - settleStart > settleMs) break;
    if (Date.now() - lastProgress > 15_000) {
      lastProgress = Date.now();
      o.timeline.note(
        `settling: ${s.processed}/${acceptedIds.length} events processed, ${s.open} deliveries open, ` +
          `${s.accruals}/${qualifying.size} accruals`,
      );
    }
    await sleep(1_000);
  }
  const settledInMs = Date.now() - settleStart;
  o.timeline.note(
    settled ? 'everything final' : `still not final after ${settleMs / 1000} s: checking as it stands`,
  );
  return { settled, settledInMs };
}

export interface Recovery {
  /** The API's /ready status (0: no answer). */
  ready: number;
  freshIds: string[];
  freshAnswers: number[];
  freshDelivered: number;
  freshMs: number;
}

/** /ready, then FRESH_EVENTS new registrations to the healthy receiver: answered, and delivered within 60 s? */
export async function checkRecovery(
  api: Api,
  pool: Pool,
  sys: FaultSystem,
  op: { id: string; key: string },
): Promise<Recovery> {
  const ready = await fetch(`${sys.apiUrl}/ready`).then(
    (r) => r.status,
    () => 0,
  );
  const healthy = BEHAVIOURS.find((b) => b.name === 'healthy')!;
  const fresh = Array.from({ length: FRESH_EVENTS }, (_, i) => ({
    id: `fresh-${i}-${randomBase62(6)}`,
    type: 'customer.registered',
    occurredAt: new Date().toISOString(),
    customerId: `fresh-${i}-${randomBase62(6)}`,
    attribution: { affiliateId: affiliateOf(healthy) },
    data: { country: 'DE' },
  }));
  const freshAnswers: number[] = [];
  for (const e of fresh)
    freshAnswers.push((await api('POST', '/v1/events', op.key, e).catch(() => null))?.status ?? 0);
  let freshDelivered = 0;
  const freshStart = Date.now();
  while (Date.now() - freshStart < 60_000) {
    freshDelivered = await deliveredCount(
      pool,
      op.id,
      fresh.map((e) => e.id),
    );
    if (freshDelivered === FRESH_EVENTS) break;
    await sleep(500);
  }
  const freshMs = Date.now() - freshStart;
  return { ready, freshIds: fresh.map((e) => e.id), freshAnswers, freshDelivered, freshMs };
}
