import { withTransaction, type Pool } from '../../db/pool.js';
import { customersAwaitingRates, dayRates, putDayRates, rateDays, type RateDay } from '../../db/fx-rates.js';
import { pairName } from '../../domain/fx.js';
import type { AcceptDeps } from '../../ingest/accept-event.js';
import { signalCustomerEvent } from '../../temporal/customer-signals.js';
import { AppError, errors } from '../../errors.js';
import { defineRoute } from '../route.js';
import { ErrorOut } from '../../contract/common.js';
import {
  FxDateParams,
  FxRateDaysOut,
  FxRatesIn,
  FxRatesOut,
  FxRatesPutOut,
  ListFxRatesQuery,
} from '../schemas/fx-rates.js';

/** Customers one PUT tells to settle again; the rest settle with their next event, or the next PUT. */
export const FX_WAKE_LIMIT = 1000;

const toRatesOut = (d: RateDay) => ({
  date: d.date,
  rates: d.rates,
  updatedAt: d.updatedAt?.toISOString() ?? null,
});

/** The operator's exchange rates, one set per UTC day (src/domain/fx.ts says which one an event uses). */
export function fxRateRoutes(deps: { pool: Pool; accept: AcceptDeps }) {
  return [
    defineRoute({
      method: 'put',
      path: '/v1/fx-rates/{date}',
      summary: "Set the day's exchange rates; commission events waiting for one of them settle again",
      auth: 'operator',
      params: FxDateParams,
      body: FxRatesIn,
      responses: {
        200: { description: "The day's rates as stored", schema: FxRatesPutOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        409: {
          description:
            '`fx_rate_used`: the set would change or remove a rate a booked commission used; nothing changed',
          schema: ErrorOut,
        },
        422: { description: 'Invalid date or rates; nothing changed', schema: ErrorOut },
        503: { description: 'Stored, but Temporal unreachable: PUT the same body again', schema: ErrorOut },
      },
      handler: async ({ params, body, operator }) => {
        const result = await withTransaction(deps.pool, (tx) =>
          putDayRates(tx, operator.id, params.date, body.rates),
        );
        if (result.outcome === 'used')
          throw new AppError(
            409,
            'fx_rate_used',
            `Booked commissions used rates of ${params.date} this would change or remove; nothing changed. ` +
              'A used rate stays as it was: the commissions record it.',
            result.used.map((u) => {
              const i = body.rates.findIndex((r) => pairName(r) === pairName(u));
              return {
                path: i < 0 ? 'rates' : `rates.${i}`,
                message: `${pairName(u)} ${u.rate} of ${params.date} is recorded by a booked commission${i < 0 ? ' and cannot be removed' : ''}`,
              };
            }),
          );
        const woken = await wakeWaiting(deps, operator.id, [...new Set(body.rates.map(pairName))]);
        return { status: 200, body: { ...toRatesOut(result.day), customersWoken: woken } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/fx-rates/{date}',
      summary: "The day's exchange rates (an empty list when none are set)",
      auth: 'operator',
      params: FxDateParams,
      responses: {
        200: { description: "The day's rates", schema: FxRatesOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
        422: { description: 'Invalid date', schema: ErrorOut },
      },
      handler: async ({ params, operator }) => ({
        status: 200,
        body: toRatesOut(await dayRates(deps.pool, operator.id, params.date)),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/fx-rates',
      summary: 'The days with exchange rates, newest first, with their rates',
      auth: 'operator',
      query: ListFxRatesQuery,
      responses: {
        200: { description: '{data, nextCursor}', schema: FxRateDaysOut },
        401: { description: 'Missing or wrong API key', schema: ErrorOut },
      },
      handler: async ({ query, operator }) => {
        const days = await rateDays(deps.pool, operator.id, {
          limit: query.limit + 1,
          before: query.cursor,
        });
        const data = days.slice(0, query.limit);
        const next = days.length > query.limit ? data[data.length - 1]!.date : null;
        return { status: 200, body: { data: data.map(toRatesOut), nextCursor: next } };
      },
    }),
  ];
}

/** Tells the settlement of each customer whose events wait for one of `pairs` to settle them again. */
async function wakeWaiting(
  deps: { pool: Pool; accept: AcceptDeps },
  operatorId: string,
  pairs: string[],
): Promise<number> {
  if (!pairs.length) return 0;
  const waiting = await customersAwaitingRates(deps.pool, operatorId, pairs, FX_WAKE_LIMIT);
  if (!waiting.length) return 0;
  try {
    const client = await deps.accept.client();
    for (const c of waiting)
      await signalCustomerEvent(
        client,
        {
          operatorId,
          customerId: c.customerId,
          taskQueue: deps.accept.start.taskQueue,
          affiliateId: c.affiliateId,
        },
        c.eventId,
      );
  } catch {
    throw errors.unavailable('temporal');
  }
  return waiting.length;
}
