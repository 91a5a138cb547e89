/**
 * The fault run's load: the events (a registration then a first deposit per customer, customers
 * round-robin over the behaviours), sent at a steady rate by a sender that retries as a real client would,
 * and the customers whose accepted events must accrue a CPA.
 */
import { randomBase62 } from '../src/db/new-id.js';
import type { Api } from './api-client.js';
import { BEHAVIOURS, type Behaviour } from './behaviours.js';
import { affiliateOf } from './setup.js';
import { sleep, type Timeline } from './timeline.js';

const SENDER_GIVE_UP_MS = 180_000;

export interface SentEvent {
  body: Record<string, unknown>;
  behaviour: Behaviour;
  customerId: string;
  accepted: boolean;
  answers: string[];
}

export function planEvents(totalEvents: number): SentEvent[] {
  const events: SentEvent[] = [];
  for (let i = 0; events.length < totalEvents; i++) {
    const behaviour = BEHAVIOURS[i % BEHAVIOURS.length]!;
    const customerId = `player-${i}-${randomBase62(6)}`;
    const at = new Date().toISOString();
    events.push({
      behaviour,
      customerId,
      accepted: false,
      answers: [],
      body: {
        id: `reg-${customerId}`,
        type: 'customer.registered',
        occurredAt: at,
        customerId,
        attribution: { affiliateId: affiliateOf(behaviour), clickId: `click-${i}` },
        data: { country: 'DE' },
      },
    });
    if (events.length < totalEvents) {
      events.push({
        behaviour,
        customerId,
        accepted: false,
        answers: [],
        body: {
          id: `dep-${customerId}`,
          type: 'deposit.completed',
          occurredAt: at,
          customerId,
          data: { depositId: `d-${customerId}`, amount: '50.00', currency: 'EUR' },
        },
      });
    }
  }
  return events;
}

/** Sends one event as a real client would: 5xx and lost answers are retried with the same body. */
export async function submit(api: Api, key: string, e: SentEvent): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < SENDER_GIVE_UP_MS) {
    let wait = 500;
    try {
      const res = await api('POST', '/v1/events', key, e.body);
      e.answers.push(String(res.status));
      if (res.status === 202 || res.status === 200) {
        e.accepted = true;
        return;
      }
      if (res.status < 500 && res.status !== 429) return; // refused: a client does not resend that
      const after = Number(res.headers.get('retry-after'));
      if (after > 0) wait = Math.min(3_000, after * 1000);
    } catch (err) {
      e.answers.push(`no answer (${(err as Error).name})`);
    }
    await sleep(wait);
  }
}

/** Starts sending each event at its time from t=0, `rate` a second; the sends, still retrying. */
export async function sendAtRate(
  events: SentEvent[],
  rate: number,
  timeline: Timeline,
  send: (e: SentEvent) => Promise<void>,
): Promise<Promise<void>[]> {
  const sends: Promise<void>[] = [];
  for (let i = 0; i < events.length; i++) {
    const due = timeline.t0 + (i / rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(send(events[i]!));
    if (i > 0 && i % (rate * 20) === 0) timeline.note(`${i} events sent`);
  }
  return sends;
}

/** The customers whose registration and first deposit (to a CPA affiliate) were both accepted. */
export function qualifyingCustomers(accepted: SentEvent[]): Set<string> {
  return new Set(
    accepted
      .filter((e) => e.behaviour.cpa && e.body.type === 'deposit.completed')
      .filter((e) =>
        accepted.some((r) => r.customerId === e.customerId && r.body.type === 'customer.registered'),
      )
      .map((e) => e.customerId),
  );
}
