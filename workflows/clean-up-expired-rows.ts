/**
 * cleanUpExpiredRows: one run of the retention clean-up, started by the retention Schedule
 * (src/temporal/retention-schedule.ts) every RETENTION_CLEANUP_INTERVAL, id `retention:clean-up-<time>`.
 *
 * One activity, deleteExpiredRows, deletes every row past its period in batches and heartbeats after each;
 * the periods are this run's input, fixed when the Schedule started it. No signals, no queries. It ends
 * with the rows deleted per table, or fails once the activity's retries are spent (the next run starts
 * over; nothing is half-deleted, each batch being its own transaction). The Schedule skips a run while
 * the previous one is still going.
 *
 * Cost per run: one workflow start, one activity (and one heartbeat per batch, throttled by the SDK).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, CleanUpInput, CleanUpResult } from '../activities/index.js';

const { deleteExpiredRows } = proxyActivities<Activities>({
  // A first run over a large backlog takes long; a dead worker is noticed by the heartbeat.
  startToCloseTimeout: '6h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
});

/** Deletes every row past its retention period; returns how many per table. */
export async function cleanUpExpiredRows(input: CleanUpInput): Promise<CleanUpResult> {
  return deleteExpiredRows(input);
}
