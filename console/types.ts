/** The REST API's answers as the pages read them (docs/api-v1.md; the OpenAPI at /v1/openapi.json). */

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
export const DELIVERY_STATUSES: DeliveryStatus[] = [
  'pending',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
];

export interface Delivery {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  waitingFor: string | null;
  workflowId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Attempt {
  number: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  responseBytes: number | null;
  responseContentType: string | null;
  request?: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string | null;
    bodyBytes: number;
  } | null;
}

export type DeliveryDetail = Delivery & { attempts: Attempt[] };

export interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  affiliateId?: string | null;
  format: 'webhook' | 'postback';
  enabled: boolean;
  disabledReason: string | null;
  postback?: { preset?: string; method?: string };
  eventTypesDelivered?: string[];
  breaker?: { state: string; since: string | null; nextProbeAt: string | null; consecutiveFailures: number };
  timeout?: string;
  retryPolicy?: { schedule: string[] };
  createdAt: string;
}

export interface Commission {
  id: string;
  affiliateId: string;
  customerId: string;
  eventId: string | null;
  model: string;
  rule: string;
  amount: string;
  currency: string;
  status: 'pending' | 'approved' | 'rejected' | 'reversed';
  holdUntil: string | null;
  reversalOf: string | null;
  reason: string | null;
  createdAt: string;
}

export interface Balance {
  currency: string;
  pending: string;
  approved: string;
  reversed: string;
  payable: string;
}

export interface Affiliate {
  affiliateId: string;
  name: string;
  status: 'active' | 'suspended';
  deal: Record<string, unknown>;
  updatedAt: string;
}

export interface EventStory {
  id: string;
  type: string;
  occurredAt: string;
  receivedAt: string;
  brand: string | null;
  customerId: string;
  attribution: Record<string, unknown> | null;
  effectiveAttribution: Record<string, unknown> | null;
  data: Record<string, unknown>;
  status: string;
  processedAt: string | null;
  derived: { ftd: boolean };
  workflowId: string;
  customerWorkflowId: string | null;
  sourceId: string | null;
  deliveries: Delivery[];
  commissions: Commission[];
  settlement: { status: string; settledAt: string | null; error: string | null } | null;
  evaluation:
    | { affiliateId: string | null; rule: string | null; outcome: string; reason: string; detail: string }[]
    | null;
}

export interface Source {
  id: string;
  name: string;
  verification: { type: string };
  ipAllowlist: string[];
  inboundUrl: string;
  createdAt: string;
}
