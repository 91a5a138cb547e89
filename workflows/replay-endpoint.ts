/**
 * replayEndpoint: one workflow per replay of an endpoint from the catch-up feed
 * (POST /v1/endpoints/{id}/replay), id `replay:<operatorId>:<replayId>`.
 *
 * States: paging -> completed (or failed). Each page is one activity, replayFeedPage: up to `pageSize` feed
 * items of the replay's range judged (src/domain/replay.ts), queued and recorded with the replay's progress
 * in one PostgreSQL transaction, then handed to their event workflows, one signal per event.
 * No signals or queries: progress is the replay's row (GET /v1/endpoints/{id}/replays/{replayId}), and a
 * cancellation is written there too, which the next page reads.
 * Exits: completes when a page comes back short (the range is done) or finds the replay cancelled; fails
 * the replay, with the reason, when its endpoint was deleted; continues as new every `pagesPerRun` pages
 * (or when the server suggests it) with the next page's number, so a replay of any length keeps a short
 * history.
 * Cost per page: one activity and its workflow task, whatever the page holds; plus, from the activity, one
 * signal (or signal-with-start of a closed event workflow) per event that has something to send.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ReplayPageResult } from '../activities/index.js';
import { ACTIVITY_FAILURES } from '../src/domain/activity-failures.js';

export interface ReplayEndpointInput {
  operatorId: string;
  replayId: string;
  endpointId: string;
  /** The page to deal with first (0, or where the previous run stopped). */
  page?: number;
  /** Feed items per page (default PAGE_SIZE). */
  pageSize?: number;
  /** Pages per run before it continues as new (default PAGES_PER_RUN). */
  pagesPerRun?: number;
}

export interface ReplayEndpointResult {
  status: 'completed' | 'failed';
  /** Pages dealt with, over every run. */
  pages: number;
}

export const PAGE_SIZE = 200;
/** Each page costs about six history events: a run stays far below any limit. */
export const PAGES_PER_RUN = 500;

const { replayFeedPage, failReplay } = proxyActivities<Activities>({
  // A page signals up to PAGE_SIZE event workflows.
  startToCloseTimeout: '5m',
  summary: 'replay a page of the feed: judge, queue, hand to the event workflows',
  // PostgreSQL or Temporal away is a wait, never a loss: keep trying, backing off to a minute.
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: [ACTIVITY_FAILURES.replayTargetGone],
  },
});

/** Replays an endpoint from the feed, page by page; see the header. */
export async function replayEndpoint(input: ReplayEndpointInput): Promise<ReplayEndpointResult> {
  const pageSize = input.pageSize ?? PAGE_SIZE;
  const pagesPerRun = input.pagesPerRun ?? PAGES_PER_RUN;
  let page = input.page ?? 0;
  for (let inRun = 0; ; inRun++) {
    if (inRun >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof replayEndpoint>({ ...input, page });
    }
    let result: ReplayPageResult;
    try {
      result = await replayFeedPage({
        operatorId: input.operatorId,
        replayId: input.replayId,
        page,
        pageSize,
      });
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : null;
      if (!(cause instanceof ApplicationFailure) || cause.type !== ACTIVITY_FAILURES.replayTargetGone)
        throw err;
      await failReplay({ replayId: input.replayId, reason: cause.message });
      return { status: 'failed', pages: page };
    }
    page++;
    setCurrentDetails(
      `Replaying endpoint ${input.endpointId}: ${page} page(s) of ${pageSize} feed items dealt with.`,
    );
    if (result.done) return { status: 'completed', pages: page };
  }
}
