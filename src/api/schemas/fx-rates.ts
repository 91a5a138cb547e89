import { z } from 'zod';
import { Currency } from '../../contract/common.js';
import { EVENT_TIME_FLOOR } from '../../domain/limits.js';
import { isUsableRate, MAX_RATE_DIGITS } from '../../domain/fx.js';

/** The operator's exchange rates (src/domain/fx.ts): a day's set in and out, and the list of days. */

const FLOOR_DATE = EVENT_TIME_FLOOR.slice(0, 10);

/** A UTC calendar date, `YYYY-MM-DD`, no earlier than the earliest event time the API accepts. */
export const FxDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date such as "2026-12-04" (YYYY-MM-DD, UTC)')
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, 'a calendar date that exists')
  .refine((d) => d >= FLOOR_DATE, `not before ${FLOOR_DATE}`);

export const FxDateParams = z.object({ date: FxDate });

const Rate = z
  .string()
  .regex(
    new RegExp(`^\\d{1,${MAX_RATE_DIGITS}}(\\.\\d{1,8})?$`),
    `a decimal string such as "1.0850" (at most ${MAX_RATE_DIGITS} digits before the point and 8 after)`,
  )
  .refine(isUsableRate, 'must be greater than zero')
  .describe('How many units of `to` one unit of `from` is worth');

const FxRateIn = z
  .strictObject({ from: Currency, to: Currency, rate: Rate })
  .refine((r) => r.from !== r.to, { path: ['to'], message: 'must differ from `from`' });

export const FxRatesIn = z
  .strictObject({
    rates: z
      .array(FxRateIn)
      .max(200)
      .describe("The day's rates, one per pair; replaces the day's set (pairs left out are removed)"),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.rates.forEach((r, i) => {
      const pair = `${r.from}/${r.to}`;
      if (seen.has(pair))
        ctx.addIssue({ code: 'custom', path: ['rates', i], message: `${pair} is given twice` });
      seen.add(pair);
    });
  })
  .meta({ id: 'FxRatesIn' });

const FxRateOut = z.object({ from: z.string(), to: z.string(), rate: z.string() });

export const FxRatesOut = z
  .object({
    date: z.string(),
    rates: z.array(FxRateOut).describe('Rates without trailing zeros ("1.085" for "1.0850")'),
    updatedAt: z
      .string()
      .nullable()
      .describe('When a rate of the day last changed; null for a day with none'),
  })
  .meta({ id: 'FxRatesOut' });

export const FxRatesPutOut = FxRatesOut.extend({
  customersWoken: z
    .number()
    .describe('Customers with commission events waiting for one of these pairs, told to settle again'),
}).meta({ id: 'FxRatesPutOut' });

export const FxRateDaysOut = z
  .object({ data: z.array(FxRatesOut), nextCursor: z.string().nullable() })
  .meta({ id: 'FxRateDaysOut' });

export const ListFxRatesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: FxDate.optional().describe('The `nextCursor` of the previous page: days before it'),
});

/** A recorded rate's shape in the commission it was used by. */
export const FxUsedOut = z
  .object({
    from: z.string(),
    to: z.string(),
    rate: z.string(),
    date: z.string().describe("The rate's own date (on or before the amount's, within the look-back)"),
  })
  .meta({ id: 'FxUsed' });
