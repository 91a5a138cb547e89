import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { CleanUpInput } from '../db/retention.js';
import { formatDuration } from '../domain/duration.js';

/** The retention clean-up's Schedule; its runs are `retention:clean-up-<time>` in the Web UI. */
export const RETENTION_SCHEDULE_ID = 'retention-clean-up';

export interface RetentionScheduleOptions {
  taskQueue: string;
  everyMs: number;
  input: CleanUpInput;
  /** Another id (tests); default RETENTION_SCHEDULE_ID. */
  scheduleId?: string;
}

/**
 * Creates the Schedule that runs cleanUpExpiredRows every `everyMs`, or brings an existing one to these
 * settings (interval, periods, task queue): every worker calls it at start, so the last one started with
 * a changed configuration wins, and two starting at once both end with the same Schedule. A run still
 * going when the next is due makes the Schedule skip that one.
 */
export async function ensureRetentionSchedule(
  client: Client,
  opts: RetentionScheduleOptions,
): Promise<'created' | 'updated'> {
  const scheduleId = opts.scheduleId ?? RETENTION_SCHEDULE_ID;
  const spec: ScheduleSpec = { intervals: [{ every: opts.everyMs }] };
  const action: ScheduleOptionsStartWorkflowAction<(input: CleanUpInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: 'cleanUpExpiredRows',
    workflowId: 'retention:clean-up',
    taskQueue: opts.taskQueue,
    args: [opts.input],
    staticSummary: `retention clean-up: attempts ${formatDuration(opts.input.attemptsMs)}, deliveries ${formatDuration(opts.input.deliveriesMs)}, events ${formatDuration(opts.input.eventsMs)}`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
  return 'updated';
}
