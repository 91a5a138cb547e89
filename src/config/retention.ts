import { z } from 'zod';
import type { CleanUpInput } from '../db/retention.js';
import { durationMs } from './durations.js';

/**
 * Retention settings (README "Running in production" -> "Retention"): how long rows are kept before the
 * scheduled clean-up deletes them. Periods run from the row's own time: an attempt's start, a delivery's
 * end, an event's acceptance. Whatever a later chargeback, reversal or attribution still needs is kept
 * past them (src/db/retention.ts says what); the ledger is never deleted.
 */
const DAY = 86_400_000;

export const RETENTION_SETTINGS = {
  RETENTION_ATTEMPTS_AFTER: durationMs
    .default(30 * DAY)
    .describe("How long a finished delivery's attempt log (status, error, response preview) is kept."),
  RETENTION_DELIVERIES_AFTER: durationMs
    .default(90 * DAY)
    .describe(
      'How long a finished delivery is kept after it ended; also the Temporal namespace retention `temporal:setup` sets (closed workflows).',
    ),
  RETENTION_EVENTS_AFTER: durationMs
    .default(90 * DAY)
    .describe(
      'How long an event is kept after it was accepted, once its deliveries are gone and nothing protects it (an open commission, its clawback window, the binding registration).',
    ),
  RETENTION_CONVERSIONS_AFTER: durationMs
    .default(180 * DAY)
    .describe(
      'How long a deposit or challenge purchase is kept with its deliveries, so a chargeback or refund can still be sent to trackers as its reversal. At least RETENTION_EVENTS_AFTER.',
    ),
  RETENTION_INBOUND_AFTER: durationMs
    .default(DAY)
    .describe(
      "How long an inbound source's replay record (webhook-id and timestamp) is kept; at least 5m, the signature tolerance.",
    ),
  RETENTION_CLEANUP_INTERVAL: durationMs
    .default(3_600_000)
    .describe('How often the clean-up runs (a Temporal Schedule the worker creates or updates at start).'),
  RETENTION_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(100)
    .max(50_000)
    .default(5_000)
    .describe(
      'Rows the clean-up deletes per statement (one short transaction each, so intake never waits long).',
    ),
} as const;

export const RETENTION_KEYS = Object.keys(RETENTION_SETTINGS) as (keyof typeof RETENTION_SETTINGS)[];

/** Settings that are wrong only together, or below what another part of the system relies on. */
export function retentionProblems(settings: {
  RETENTION_EVENTS_AFTER?: number;
  RETENTION_CONVERSIONS_AFTER?: number;
  RETENTION_INBOUND_AFTER?: number;
}): string[] {
  const problems: string[] = [];
  const { RETENTION_EVENTS_AFTER: events, RETENTION_CONVERSIONS_AFTER: conversions } = settings;
  if (events !== undefined && conversions !== undefined && conversions < events)
    problems.push('RETENTION_CONVERSIONS_AFTER: must be at least RETENTION_EVENTS_AFTER');
  if (settings.RETENTION_INBOUND_AFTER !== undefined && settings.RETENTION_INBOUND_AFTER < 5 * 60_000)
    problems.push('RETENTION_INBOUND_AFTER: must be at least 5m (the inbound signature tolerance)');
  return problems;
}

/** A clean-up run's input from the settings: the periods in ms and the batch size. */
export function cleanUpInputFrom(config: Record<(typeof RETENTION_KEYS)[number], number>): CleanUpInput {
  return {
    attemptsMs: config.RETENTION_ATTEMPTS_AFTER,
    deliveriesMs: config.RETENTION_DELIVERIES_AFTER,
    eventsMs: config.RETENTION_EVENTS_AFTER,
    conversionsMs: config.RETENTION_CONVERSIONS_AFTER,
    inboundMs: config.RETENTION_INBOUND_AFTER,
    batchSize: config.RETENTION_BATCH_SIZE,
  };
}
