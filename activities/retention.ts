import { CancelledFailure, Context } from '@temporalio/activity';
import type { Pool } from '../src/db/pool.js';
import {
  deleteExpiredAttempts,
  deleteExpiredDeliveries,
  deleteExpiredEvents,
  deleteExpiredInboundMessages,
  deleteExpiredInboundRequests,
  deleteExpiredReplays,
  type Batch,
  type CleanUpInput,
  type Cursor,
  type RetentionTypes,
} from '../src/db/retention.js';
import { COMMISSION_EVENT_TYPES } from '../src/domain/commission/facts.js';
import { UNDOABLE_CONVERSION_TYPES } from '../src/domain/postback/meaning.js';
import { retentionDeleted, type RetentionTable } from '../src/metrics.js';

export type { CleanUpInput };

/** Rows deleted by one run, per table. */
export type CleanUpResult = Record<RetentionTable, number>;

/** Where a run stands, heartbeated after every batch so that a retry goes on from there. */
interface Progress {
  stage: number;
  cursor: Cursor | null;
  deleted: CleanUpResult;
}

const TYPES: RetentionTypes = {
  commissionTypes: COMMISSION_EVENT_TYPES,
  conversionTypes: UNDOABLE_CONVERSION_TYPES,
};

/**
 * The stages, in the order foreign keys allow: attempts before their deliveries, deliveries before their
 * events. Each deletes one batch from a cursor (src/db/retention.ts).
 */
const STAGES: {
  table: RetentionTable;
  batch: (pool: Pool, input: CleanUpInput, after: Cursor | undefined) => Promise<Batch>;
}[] = [
  { table: 'delivery_attempts', batch: (p, i, after) => deleteExpiredAttempts(p, i, i.batchSize, after) },
  { table: 'deliveries', batch: (p, i, after) => deleteExpiredDeliveries(p, i, TYPES, i.batchSize, after) },
  { table: 'events', batch: (p, i, after) => deleteExpiredEvents(p, i, TYPES, i.batchSize, after) },
  { table: 'inbound_messages', batch: (p, i) => deleteExpiredInboundMessages(p, i, i.batchSize) },
  { table: 'inbound_requests', batch: (p, i) => deleteExpiredInboundRequests(p, i.batchSize) },
  { table: 'endpoint_replays', batch: (p, i) => deleteExpiredReplays(p, i, i.batchSize) },
];

/**
 * Deletes every expired row, one batch per statement (a short transaction each, so intake never waits
 * behind it), heartbeating after each batch. Idempotent: a retry resumes from the last heartbeat, and a
 * row deleted already is simply not found.
 */
export async function deleteExpiredRows(pool: Pool, input: CleanUpInput): Promise<CleanUpResult> {
  const ctx = Context.current();
  const resumed = ctx.info.heartbeatDetails as Progress | undefined;
  const progress: Progress = resumed ?? {
    stage: 0,
    cursor: null,
    deleted: {
      delivery_attempts: 0,
      deliveries: 0,
      events: 0,
      inbound_messages: 0,
      inbound_requests: 0,
      endpoint_replays: 0,
    },
  };
  for (; progress.stage < STAGES.length; progress.stage++, progress.cursor = null) {
    const { table, batch } = STAGES[progress.stage]!;
    for (;;) {
      // A worker shutting down cancels the run between batches; the next scheduled run starts over.
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('retention clean-up cancelled');
      const b = await batch(pool, input, progress.cursor ?? undefined);
      count(progress, table, b.deleted);
      if (b.attemptsDeleted) count(progress, 'delivery_attempts', b.attemptsDeleted);
      progress.cursor = b.next;
      ctx.heartbeat(progress);
      if (!b.next) break;
    }
  }
  ctx.log.info('retention clean-up done', { ...progress.deleted });
  return progress.deleted;
}

function count(progress: Progress, table: RetentionTable, n: number) {
  // A run resumed from a heartbeat of a version without this table has no count for it yet.
  progress.deleted[table] = (progress.deleted[table] ?? 0) + n;
  if (n) retentionDeleted.inc({ table }, n);
}
