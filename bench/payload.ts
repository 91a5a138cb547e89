import { webhookBody } from '../src/domain/webhook-payload.js';

/**
 * The events the bench sends and the webhook bodies they become. `data.note` pads the event to the payload
 * size asked for; the baselines send the very body the product would deliver for the same event.
 */
export const BENCH_EVENT_TYPE = 'customer.registered';
const OCCURRED_AT = '2026-11-27T10:00:00.000Z';
export const BENCH_AFFILIATE_ID = 'aff-bench';
const ATTRIBUTION = { affiliateId: BENCH_AFFILIATE_ID, clickId: 'click-bench' };

function event(id: string, note: string) {
  return {
    id,
    type: BENCH_EVENT_TYPE,
    occurredAt: OCCURRED_AT,
    customerId: `cust-${id}`,
    attribution: ATTRIBUTION,
    data: { country: 'DE', note },
  };
}

/** Padding that brings a sent event to about `payloadBytes` (the id length varies by a few bytes). */
export function paddingFor(payloadBytes: number): string {
  const base = JSON.stringify(event('x'.repeat(24), '')).length;
  return 'n'.repeat(Math.max(0, payloadBytes - base));
}

export function eventJson(id: string, padding: string): string {
  return JSON.stringify(event(id, padding));
}

/** The webhook body the product delivers for `eventJson(id, padding)`. */
export function webhookJson(id: string, padding: string): string {
  const e = event(id, padding);
  return JSON.stringify(
    webhookBody(BENCH_EVENT_TYPE, {
      eventId: e.id,
      type: e.type,
      occurredAt: e.occurredAt,
      brand: null,
      customerId: e.customerId,
      attribution: e.attribution,
      data: e.data,
    }),
  );
}
