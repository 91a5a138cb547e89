import { ErrorOut } from '../../contract/common.js';
import { eventTypeCatalogue } from '../../contract/event-type-catalogue.js';
import { errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { EventTypeListOut, EventTypeOut, EventTypeParams } from '../schemas/event-types.js';

/** The event catalogue (src/contract/event-type-catalogue.ts): the same for every operator. */
export function eventTypeRoutes() {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/event-types',
      summary:
        'Every event type an endpoint can subscribe to, with its webhook body schema, an example and its postback macros',
      auth: 'operator',
      responses: {
        200: { description: "The catalogue, operators' types first", schema: EventTypeListOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
      },
      handler: async () => ({ status: 200 as const, body: { data: eventTypeCatalogue() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/event-types/{type}',
      summary: 'One event type of the catalogue',
      auth: 'operator',
      params: EventTypeParams,
      responses: {
        200: { description: 'The type', schema: EventTypeOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        404: { description: 'Not a type of the catalogue', schema: ErrorOut },
      },
      handler: async ({ params }) => {
        const entry = eventTypeCatalogue().find((e) => e.type === params.type);
        if (!entry) throw errors.notFound(`Event type ${params.type}`);
        return { status: 200 as const, body: entry };
      },
    }),
  ];
}
