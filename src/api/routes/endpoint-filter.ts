import { findFilterSubjectOf } from '../../db/events.js';
import { evaluateFilter, filterSubject, type RoutingFilter } from '../../domain/routing-filter.js';
import { errors } from '../../errors.js';
import { ErrorOut } from '../../contract/common.js';
import { defineRoute } from '../route.js';
import { TestFilterIn, TestFilterOut, toTestFilterOut } from '../schemas/endpoint-filter.js';
import { IdParams, type EndpointContext } from './endpoint-context.js';

/** `POST /v1/endpoints/{id}/test-filter`: what the endpoint's filter (or one to try) makes of an event. */
export function testFilterRoute({ deps, mustFind }: Pick<EndpointContext, 'deps' | 'mustFind'>) {
  return defineRoute({
    method: 'post',
    path: '/v1/endpoints/{id}/test-filter',
    summary:
      "Judge a sample event, or a stored one, by the endpoint's filter (or one given to try): whether it " +
      'would receive it, and each clause with its result. Sends nothing, changes nothing',
    auth: 'operator',
    params: IdParams,
    body: TestFilterIn,
    responses: {
      200: { description: 'The judgement', schema: TestFilterOut },
      404: { description: 'No such endpoint, or no such event (`eventId`)', schema: ErrorOut },
      422: { description: 'An invalid sample or filter', schema: ErrorOut },
    },
    handler: async ({ params, body, operator }) => {
      const endpoint = await mustFind(operator.id, params.id);
      const filter = (body.filter as RoutingFilter | undefined) ?? endpoint.filter;
      let subject;
      if (body.eventId !== undefined) {
        const stored = await findFilterSubjectOf(deps.pool, operator.id, body.eventId);
        if (!stored) throw errors.notFound(`Event ${body.eventId}`);
        subject = filterSubject(stored);
      } else {
        const { country, ...event } = body.event!;
        subject = filterSubject({ ...event, customerCountry: country });
      }
      return {
        status: 200,
        body: toTestFilterOut(filter, filter ? evaluateFilter(filter, subject) : null),
      };
    },
  });
}
