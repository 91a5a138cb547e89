import { createOperator, setIntakeLimit, type Operator } from '../../db/operators.js';
import type { Pool } from '../../db/pool.js';
import { errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import {
  OperatorCreatedOut,
  OperatorIn,
  OperatorOut,
  OperatorParams,
  OperatorPatchIn,
} from '../schemas/operators.js';

const operatorOut = (o: Operator) => ({
  id: o.id,
  name: o.name,
  createdAt: o.createdAt.toISOString(),
  intakeLimit: o.intakeLimit,
});

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
        const { operator, apiKey } = await createOperator(deps.pool, body.name, body.intakeLimit ?? null);
        return { status: 201, body: { ...operatorOut(operator), apiKey } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/operators/{id}',
      // Takes effect within 5 s in every API process (their API-key caches).
      summary: "Set or lift an operator's intake limit",
      auth: 'admin',
      params: OperatorParams,
      body: OperatorPatchIn,
      responses: {
        200: { description: 'The operator as it now stands', schema: OperatorOut },
        401: { description: 'Missing or wrong admin token', schema: ErrorOut },
        404: { description: 'No such operator', schema: ErrorOut },
        422: { description: 'Invalid body', schema: ErrorOut },
      },
      handler: async ({ params, body }) => {
        const operator = await setIntakeLimit(deps.pool, params.id, body.intakeLimit);
        if (!operator) throw errors.notFound(`Operator ${params.id}`);
        return { status: 200, body: operatorOut(operator) };
      },
    }),
  ];
}
