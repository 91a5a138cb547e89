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

/** A stored event as recorded (the `events` row): what its webhook body is built from. */
export interface RecordedEvent {
  eventId: string;
  type: string;
  occurredAt: Date;
  payload: {
    brand?: string;
    customerId?: string;
    attribution?: Record<string, unknown>;
    data: Record<string, unknown>;
  };
  facts: { effectiveAttribution: Record<string, unknown> | null } | null;
}

/**
 * The webhook body of a recorded event delivered as `deliveredType`: what every delivery sends and what the
 * feed (`GET /v1/feed`) lists, so the two cannot differ. The attribution is the one applied (inherited from
 * the registration) when the event has been applied, else the one it was sent with.
 */
export function recordedWebhookBody(deliveredType: string, e: RecordedEvent): WebhookBody {
  return webhookBody(deliveredType, {
    eventId: e.eventId,
    type: e.type,
    occurredAt: e.occurredAt.toISOString(),
    brand: e.payload.brand ?? null,
    customerId: e.payload.customerId ?? '',
    attribution: e.facts?.effectiveAttribution ?? e.payload.attribution ?? null,
    data: e.payload.data,
  });
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
