import { createOperator } from '../../db/operators.js';
import type { Pool } from '../../db/pool.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import { OperatorCreatedOut, OperatorIn } from '../schemas/operators.js';

export function operatorRoutes(deps: { pool: Pool }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/operators',
      summary: 'Create an operator (tenant) and its first API key',
      auth: 'admin',
      body: OperatorIn,
      responses: {
        201: { description: 'Created; the API key is shown only here', schema: OperatorCreatedOut },
        401: { description: 'Missing or wrong admin token', schema: ErrorOut },
        422: { description: 'Invalid body', schema: ErrorOut },
      },
      handler: async ({ body }) => {
        const { operator, apiKey } = await createOperator(deps.pool, body.name);
        return {
          status: 201,
          body: { id: operator.id, name: operator.name, apiKey, createdAt: operator.createdAt.toISOString() },
        };
      },
    }),
  ];
}
