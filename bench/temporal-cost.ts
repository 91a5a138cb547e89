import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { round, sleep } from './stats.js';

/**
 * Temporal work per event, counted from the histories of the bench's own workflows: workflow starts,
 * activity attempts (the attempt number of each activity's last start), local activities (MarkerRecorded),
 * timers, signals, search-attribute upserts, workflow tasks, history length, and the state transitions
 * the server reports. "Actions" sums starts, activity attempts, local activities, timers, signals and
 * upserts: the work each event asks of the server, one local activity at a time. "Billable actions" is
 * what Temporal Cloud bills for the same history, by its published rules (billableActions below), which
 * count every local activity of one workflow task as one action.
 */
export interface HistoryCounts {
  workflows: number;
  completed: number;
  starts: number;
  activities: number;
  activityAttempts: number;
  localActivities: number;
  timers: number;
  signals: number;
  upserts: number;
  /** Temporal Cloud's count of the same history (billableActions). */
  billable: number;
  workflowTasks: number;
  historyEvents: number;
  /** The history's size as Temporal stores it (protobuf-encoded): what retained storage is billed on. */
  historyBytes: number;
  stateTransitions: number | null;
  /** Which worker (identity `<pid>@<host>`) completed the workflow tasks and ran the activities. */
  ranOn: Record<string, { workflowTasks: number; activityTasks: number }>;
}

export interface CostPerEvent {
  sampled: number;
  completed: number;
  /** Per event, by worker: workflow tasks completed and activity tasks run there. */
  ranOn: Record<string, { workflowTasks: number; activityTasks: number }>;
  perEvent: Omit<HistoryCounts, 'workflows' | 'completed' | 'ranOn'> & {
    actions: number;
    actionsWithoutUpserts: number;
  };
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The search attribute the SDK upserts for `patched()`: exempt from Temporal Cloud's action count. */
const CHANGE_VERSION = 'TemporalChangeVersion';

/**
 * The actions Temporal Cloud bills for a history, by the rules its documentation publishes
 * (docs.temporal.io/cloud/actions, read 2026-12-06):
 * - a workflow start, one for a signal-with-start that started it (its signal is the history's event 2);
 * - each activity attempt (the attempt number of each activity's last start);
 * - the markers of one workflow task together: every local activity (and `patched()` marker) recorded
 *   by one workflow task completion is one action, not one each;
 * - each timer started, each signal received, each search-attribute upsert, except one that only sets
 *   TemporalChangeVersion.
 * Not in a history, so not counted: queries, activity heartbeats that reach the server, and the heartbeats
 * of a workflow task kept open by a local activity running past the task's timeout.
 */
export function billableActions(events: readonly HistoryEvent[]): number {
  let n = 0;
  const markerTasks = new Set<string>();
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) n++;
    else if (e.activityTaskStartedEventAttributes) n += e.activityTaskStartedEventAttributes.attempt ?? 1;
    else if (e.markerRecordedEventAttributes)
      markerTasks.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId ?? e.eventId));
    else if (e.timerStartedEventAttributes) n++;
    else if (e.workflowExecutionSignaledEventAttributes) n += Number(e.eventId) === 2 ? 0 : 1;
    else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const keys = Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {},
      );
      if (keys.some((k) => k !== CHANGE_VERSION)) n++;
    }
  }
  return n + markerTasks.size;
}

export async function countHistory(client: Client, workflowId: string): Promise<HistoryCounts> {
  const handle = client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory();
  const c: HistoryCounts = {
    ...emptyCounts(),
    historyEvents: history.events?.length ?? 0,
    historyBytes: proto.temporal.api.history.v1.History.encode(history).finish().length,
    billable: billableActions(history.events ?? []),
  };

  const on = (identity: string | null | undefined) =>
    (c.ranOn[identity || 'unknown'] ??= { workflowTasks: 0, activityTasks: 0 });
  for (const e of history.events ?? []) {
    if (e.activityTaskStartedEventAttributes)
      on(e.activityTaskStartedEventAttributes.identity).activityTasks++;
    if (e.workflowTaskCompletedEventAttributes)
      on(e.workflowTaskCompletedEventAttributes.identity).workflowTasks++;
    if (e.workflowExecutionStartedEventAttributes) c.starts++;
    else if (e.workflowExecutionCompletedEventAttributes) c.completed++;
    else if (e.activityTaskScheduledEventAttributes) c.activities++;
    else if (e.activityTaskStartedEventAttributes)
      c.activityAttempts += e.activityTaskStartedEventAttributes.attempt ?? 1;
    else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') c.localActivities++;
    else if (e.timerStartedEventAttributes) c.timers++;
    else if (e.workflowExecutionSignaledEventAttributes) c.signals++;
    else if (e.upsertWorkflowSearchAttributesEventAttributes) c.upserts++;
    else if (e.workflowTaskCompletedEventAttributes) c.workflowTasks++;
  }
  try {
    const described = await handle.describe();
    const n = described.raw.workflowExecutionInfo?.stateTransitionCount;
    c.stateTransitions = n === undefined || n === null ? null : Number(n);
  } catch {
    // describe is a bonus
  }
  return c;
}

/** Waits (bounded) until the workflows have completed, then counts their histories. */
export async function costOf(
  client: Client,
  workflowIds: string[],
  timeoutMs = 60_000,
  /** Divide by this many events instead of by the workflows (several workflows serve one event). */
  events?: number,
): Promise<CostPerEvent> {
  const deadline = Date.now() + timeoutMs;
  let counts: HistoryCounts[] = [];
  for (let round = 0; round < 1_000; round++) {
    counts = [];
    for (const id of workflowIds) counts.push(await countHistory(client, id).catch(() => emptyCounts()));
    if (counts.every((c) => c.completed) || Date.now() > deadline) break;
    await sleep(500);
  }
  return summarize(counts, events);
}

function emptyCounts(): HistoryCounts {
  return {
    workflows: 1,
    completed: 0,
    starts: 0,
    activities: 0,
    activityAttempts: 0,
    localActivities: 0,
    timers: 0,
    signals: 0,
    upserts: 0,
    billable: 0,
    workflowTasks: 0,
    historyEvents: 0,
    historyBytes: 0,
    stateTransitions: null,
    ranOn: {},
  };
}

function summarize(counts: HistoryCounts[], events?: number): CostPerEvent {
  const n = events || counts.length || 1;
  const sum = (f: (c: HistoryCounts) => number) => counts.reduce((a, c) => a + f(c), 0);
  const avg = (f: (c: HistoryCounts) => number) => round(sum(f) / n, 2);
  const transitions = counts.filter((c) => c.stateTransitions !== null);
  const perEvent = {
    starts: avg((c) => c.starts),
    activities: avg((c) => c.activities),
    activityAttempts: avg((c) => c.activityAttempts),
    localActivities: avg((c) => c.localActivities),
    timers: avg((c) => c.timers),
    signals: avg((c) => c.signals),
    upserts: avg((c) => c.upserts),
    billable: avg((c) => c.billable),
    workflowTasks: avg((c) => c.workflowTasks),
    historyEvents: avg((c) => c.historyEvents),
    historyBytes: Math.round(sum((c) => c.historyBytes) / n),
    stateTransitions: transitions.length
      ? round(transitions.reduce((a, c) => a + c.stateTransitions!, 0) / transitions.length, 2)
      : null,
  };
  const withoutUpserts =
    perEvent.starts +
    perEvent.activityAttempts +
    perEvent.localActivities +
    perEvent.timers +
    perEvent.signals;
  const ranOn: CostPerEvent['ranOn'] = {};
  for (const c of counts)
    for (const [who, r] of Object.entries(c.ranOn)) {
      const t = (ranOn[who] ??= { workflowTasks: 0, activityTasks: 0 });
      t.workflowTasks += r.workflowTasks / n;
      t.activityTasks += r.activityTasks / n;
    }
  for (const t of Object.values(ranOn)) {
    t.workflowTasks = round(t.workflowTasks, 2);
    t.activityTasks = round(t.activityTasks, 2);
  }
  return {
    sampled: counts.length,
    completed: sum((c) => c.completed),
    ranOn,
    perEvent: {
      ...perEvent,
      actions: round(withoutUpserts + perEvent.upserts, 2),
      actionsWithoutUpserts: round(withoutUpserts, 2),
    },
  };
}
