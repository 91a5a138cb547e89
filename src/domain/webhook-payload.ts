/**
 * The JSON body of a webhook (docs/api-v1.md section 5): `{type, timestamp, data}`. `data` carries the event as the
 * operator sent it, with the attribution the orchestrator resolved, so a receiver needs no second lookup.
 * The body is a pure function of the stored event, so every attempt of a delivery sends the same bytes.
 */
export interface StoredEventView {
  eventId: string;
  type: string;
  occurredAt: string;
  brand: string | null;
  customerId: string;
  attribution: Record<string, unknown> | null;
  data: Record<string, unknown>;
}

export interface WebhookBody {
  type: string;
  timestamp: string;
  data: {
    eventId: string;
    /** The operator's event type this delivery derives from (`deposit.completed` for a `deposit.ftd`). */
    sourceType: string;
    occurredAt: string;
    brand: string | null;
    customerId: string;
    attribution: Record<string, unknown> | null;
    details: Record<string, unknown>;
  };
}

export function webhookBody(deliveredType: string, e: StoredEventView): WebhookBody {
  return {
    type: deliveredType,
    timestamp: e.occurredAt,
    data: {
      eventId: e.eventId,
      sourceType: e.type,
      occurredAt: e.occurredAt,
      brand: e.brand,
      customerId: e.customerId,
      attribution: e.attribution,
      details: e.data,
    },
  };
}

/** Headers an endpoint's custom headers may not set: the signature and the framing are the orchestrator's. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
]);
