import type { Client } from '@temporalio/client';
import type { Endpoint } from '../db/endpoints.js';
import type { FeedPosition } from '../db/feed.js';
import { newId } from '../db/new-id.js';
import type { Pool } from '../db/pool.js';
import {
  deleteReplay,
  endReplay,
  feedHorizon,
  findReplay,
  insertReplay,
  type Replay,
} from '../db/replays.js';
import { replayWorkflowId } from '../domain/ids.js';
import { positionBefore, replayEnd } from '../domain/replay.js';
import { errors } from '../errors.js';
import { startReplayWorkflow } from '../temporal/replay-start.js';

/**
 * Replaying an endpoint from the catch-up feed (issue 17 item 2): the replay is recorded with the range and
 * the endpoint's subscription as they are now, then its workflow (workflows/replay-endpoint.ts) is started.
 * If Temporal cannot take it, the row goes again and the caller answers 503: nothing was queued.
 */
export interface ReplayDeps {
  pool: Pool;
  client: () => Promise<Client>;
  taskQueue: string;
  /** How long to wait for Temporal to take the start. */
  startTimeoutMs?: number | undefined;
  /** Feed items per page (tests set a small one to see paging and continue-as-new). */
  pageSize?: number | undefined;
  pagesPerRun?: number | undefined;
}

export interface ReplayRequest {
  after: FeedPosition;
  /** The last item to replay (included); absent: up to what the feed holds now. */
  until: FeedPosition | null;
  missingOnly: boolean;
}

/** Records a replay of the endpoint and starts its workflow; answers the replay as recorded. */
export async function startReplay(
  deps: ReplayDeps,
  operatorId: string,
  endpoint: Endpoint,
  req: ReplayRequest,
): Promise<Replay> {
  if (req.until && !positionBefore(req.after, req.until)) {
    throw errors.validation([
      { code: 'custom', path: ['until'], message: 'must name an item after `after`', input: undefined },
    ]);
  }
  if (!endpoint.enabled) throw errors.endpointDisabled(endpoint.id);
  const id = newId('replay');
  const workflowId = replayWorkflowId(operatorId, id);
  const replay = await insertReplay(deps.pool, {
    id,
    operatorId,
    endpointId: endpoint.id,
    after: req.after,
    untilExclusive: replayEnd(req.until, await feedHorizon(deps.pool)),
    missingOnly: req.missingOnly,
    eventTypes: endpoint.eventTypes,
    affiliateId: endpoint.affiliateId,
    filter: endpoint.filter,
    workflowId,
  });
  try {
    await startReplayWorkflow(await deps.client(), {
      workflowId,
      taskQueue: deps.taskQueue,
      timeoutMs: deps.startTimeoutMs ?? 5_000,
      input: {
        operatorId,
        replayId: id,
        endpointId: endpoint.id,
        ...(deps.pageSize ? { pageSize: deps.pageSize } : {}),
        ...(deps.pagesPerRun ? { pagesPerRun: deps.pagesPerRun } : {}),
      },
    });
  } catch {
    await deleteReplay(deps.pool, id);
    throw errors.unavailable('temporal');
  }
  return replay;
}

/**
 * Cancels a running replay: its next page reads the row and stops there (what earlier pages queued goes
 * out). Answers the replay as it now stands; one that had ended already is left as it was.
 */
export async function cancelReplay(pool: Pool, operatorId: string, endpointId: string, replayId: string) {
  const replay = await findReplay(pool, operatorId, replayId, { endpointId });
  if (!replay) throw errors.notFound(`Replay ${replayId}`);
  if (replay.status === 'running') await endReplay(pool, replayId, 'cancelled', null);
  return (await findReplay(pool, operatorId, replayId, { endpointId }))!;
}
