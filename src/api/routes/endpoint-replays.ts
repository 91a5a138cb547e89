import { ErrorOut } from '../../contract/common.js';
import { listReplays, findReplay } from '../../db/replays.js';
import { errors } from '../../errors.js';
import { cancelReplay, startReplay } from '../../ingest/replay.js';
import { decodeFeedCursor } from '../cursor.js';
import { defineRoute } from '../route.js';
import { ReplayIn, ReplayOut, ReplayParams, toReplayOut } from '../schemas/replays.js';
import { IdParams, notFound, type EndpointContext } from './endpoint-context.js';

/** An endpoint's replays from the catch-up feed: start one, follow its progress, cancel it. */
export function endpointReplayRoutes({ deps, mustFind }: EndpointContext) {
  const replayNotFound = { description: 'No such replay of this endpoint', schema: ErrorOut };
  return [
    defineRoute({
      method: 'post',
      path: '/v1/endpoints/{id}/replay',
      summary:
        'Send the endpoint again what it is subscribed to in a range of the feed, each item under its original webhook-id; a workflow, followed at Location',
      auth: 'operator',
      params: IdParams,
      body: ReplayIn,
      responses: {
        202: { description: 'The replay, started; Location: where its progress is', schema: ReplayOut },
        404: notFound,
        409: { description: 'The endpoint is disabled', schema: ErrorOut },
        422: {
          description: 'A cursor this API did not issue, or `until` not after `after`',
          schema: ErrorOut,
        },
        503: { description: 'Temporal away: nothing was queued', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        const after = decodeFeedCursor(body.after, ['after']);
        const until = body.until ? decodeFeedCursor(body.until, ['until']) : null;
        const endpoint = await mustFind(operator.id, params.id);
        const replay = await startReplay(deps, operator.id, endpoint, {
          after,
          until,
          missingOnly: body.missingOnly,
        });
        return {
          status: 202,
          body: toReplayOut(replay),
          headers: { Location: `/v1/endpoints/${params.id}/replays/${replay.id}` },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/endpoints/{id}/replays',
      summary: "The endpoint's replays, newest first (the latest 50)",
      auth: 'operator',
      params: IdParams,
      responses: { 200: { description: '{data}' }, 404: notFound },
      handler: async ({ params, operator }) => {
        await mustFind(operator.id, params.id);
        const replays = await listReplays(deps.pool, operator.id, params.id, 50);
        return { status: 200, body: { data: replays.map(toReplayOut) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/endpoints/{id}/replays/{replayId}',
      summary: "A replay's status and progress",
      auth: 'operator',
      params: ReplayParams,
      responses: { 200: { description: 'The replay', schema: ReplayOut }, 404: replayNotFound },
      handler: async ({ params, operator }) => {
        const replay = await findReplay(deps.pool, operator.id, params.replayId, { endpointId: params.id });
        if (!replay) throw errors.notFound(`Replay ${params.replayId}`);
        return { status: 200, body: toReplayOut(replay) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/endpoints/{id}/replays/{replayId}/cancel',
      summary: 'Stop a running replay after the page under way (what it queued already goes out)',
      auth: 'operator',
      params: ReplayParams,
      responses: { 200: { description: 'The replay', schema: ReplayOut }, 404: replayNotFound },
      handler: async ({ params, operator }) => {
        const replay = await cancelReplay(deps.pool, operator.id, params.id, params.replayId);
        return { status: 200, body: toReplayOut(replay) };
      },
    }),
  ];
}
