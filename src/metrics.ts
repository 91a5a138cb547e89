import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (`GET /metrics` on the API, WORKER_METRICS_PORT on the worker). One
 * registry per process; every name starts `affiliate_hooks_` and carries its unit.
 *
 * Labels are bounded sets only: source kind, reason (an error code), format, outcome, status class, kind,
 * currency (ISO 4217), step. Never an operator, customer, endpoint, URL, secret or payload: those are
 * unbounded or private, and belong in logs and the API.
 */
export const registry = new Registry();

/** Where an event came in: the single-event API, the batch API, or an inbound source. */
export type IntakeSource = 'api' | 'batch' | 'inbound';

export const eventsAccepted = new Counter({
  name: 'affiliate_hooks_events_accepted_total',
  help: 'Events accepted at intake, by source kind; duplicate="true" for a repeat answered from the record.',
  labelNames: ['source', 'duplicate'] as const,
  registers: [registry],
});

export const eventsRefused = new Counter({
  name: 'affiliate_hooks_events_refused_total',
  help: 'Events refused at intake, by source kind and reason (the error code, or the batch item status).',
  labelNames: ['source', 'reason'] as const,
  registers: [registry],
});

export const deliveryAttempts = new Counter({
  name: 'affiliate_hooks_delivery_attempts_total',
  help: 'Delivery attempts logged, by outcome (the delivery status after it) and status class (2xx..5xx, or none).',
  labelNames: ['outcome', 'status_class'] as const,
  registers: [registry],
});

export const attemptDuration = new Histogram({
  name: 'affiliate_hooks_delivery_attempt_duration_seconds',
  help: 'Time one delivery attempt took, request sent to answer read (or given up), by endpoint format.',
  labelNames: ['format'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const rateLimitWaits = new Counter({
  name: 'affiliate_hooks_rate_limit_waits_total',
  help: 'Waits for a rate-limited endpoint send slot: a sleep in the process (short) or a hand-off to Temporal as a retry (long).',
  labelNames: ['wait'] as const,
  registers: [registry],
});

export const breakerTransitions = new Counter({
  name: 'affiliate_hooks_endpoint_breaker_transitions_total',
  help: 'Endpoint circuit breakers that opened (failed attempts in a row), closed (a probe or any attempt succeeded), or stayed open after a failed probe.',
  labelNames: ['change'] as const,
  registers: [registry],
});

export const breakerWaits = new Counter({
  name: 'affiliate_hooks_endpoint_breaker_waits_total',
  help: 'Deliveries held by an open endpoint breaker and handed to Temporal to wait (no attempt spent): the named prober until the probe is due, the others until woken.',
  labelNames: ['role'] as const,
  registers: [registry],
});

export const breakerWatchWakes = new Counter({
  name: 'affiliate_hooks_endpoint_breaker_watch_wakes_total',
  help: "Wake-ups of an endpoint breaker's waiting deliveries the watch sent again because the first was lost: a closed breaker swept anew, or the prober of an overdue probe woken. Anything above zero is a wake-up that went missing.",
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const commissionEntries = new Counter({
  name: 'affiliate_hooks_commission_entries_total',
  help: 'Ledger entries booked by committed settlement steps, by kind and currency.',
  labelNames: ['kind', 'currency'] as const,
  registers: [registry],
});

export const settlementStepDuration = new Histogram({
  name: 'affiliate_hooks_settlement_step_duration_seconds',
  help: 'Time one settlement activity took (transaction and dispatch), by step: settle, approve, decide.',
  labelNames: ['step'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const reconcilerStarts = new Counter({
  name: 'affiliate_hooks_reconciler_starts_total',
  help: 'Event workflows the reconciler started because their start by the API was never confirmed.',
  registers: [registry],
});

/** Rows deleted by the retention clean-up (a delivery's attempts deleted with it count as attempts). */
export type RetentionTable =
  | 'delivery_attempts'
  | 'deliveries'
  | 'events'
  | 'inbound_messages'
  | 'inbound_requests'
  | 'endpoint_replays';

export const retentionDeleted = new Counter({
  name: 'affiliate_hooks_retention_deleted_rows_total',
  help: 'Rows the retention clean-up deleted, by table (delivery_attempts, deliveries, events, inbound_messages, inbound_requests, endpoint_replays).',
  labelNames: ['table'] as const,
  registers: [registry],
});

/** The backlog, read from PostgreSQL at scrape time (see {@link watchBacklog}). */
export const deliveriesRetrying = new Gauge({
  name: 'affiliate_hooks_deliveries_retrying',
  help: 'Deliveries waiting for their next attempt (status retrying), read from PostgreSQL, cached 5 s.',
  registers: [registry],
});

export const deliveriesDeadLettered = new Gauge({
  name: 'affiliate_hooks_deliveries_dead_lettered',
  help: 'Deliveries that ended failed (the dead letters, redrivable), read from PostgreSQL, cached 5 s.',
  registers: [registry],
});

/** 200 → "2xx"; no answer (timeout, refused connection) → "none". */
export function statusClass(statusCode: number | null | undefined): string {
  if (!statusCode || statusCode < 100 || statusCode > 599) return 'none';
  return `${Math.floor(statusCode / 100)}xx`;
}

export interface Backlog {
  retrying: number;
  failed: number;
}

/**
 * Sets the backlog gauges at each scrape from `read` (one indexed query), reusing an answer younger than
 * `cacheMs` so scrapes cannot load the database. A failed read leaves the last values.
 */
export function watchBacklog(read: () => Promise<Backlog>, cacheMs = 5_000): void {
  let at = -Infinity;
  let pending: Promise<void> | undefined;
  const refresh = async () => {
    if (Date.now() - at < cacheMs) return;
    pending ??= read()
      .then((b) => {
        at = Date.now();
        deliveriesRetrying.set(b.retrying);
        deliveriesDeadLettered.set(b.failed);
      })
      .catch(() => {})
      .finally(() => {
        pending = undefined;
      });
    await pending;
  };
  backlogReader = refresh;
}

let backlogReader: (() => Promise<void>) | undefined;

/** The registry's text exposition, the backlog refreshed first. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  await backlogReader?.();
  return { contentType: registry.contentType, body: await registry.metrics() };
}
