import { z } from 'zod';
import { EXTERNAL_ID_PATTERN } from '../domain/ids.js';
import { MAX_AMOUNT_DIGITS, MAX_LOTS_DIGITS } from '../domain/limits.js';

/** Building blocks shared by the API schemas (docs/api-v1.md section 1). */

export const ExternalId = z.string().regex(EXTERNAL_ID_PATTERN, '1-128 characters of A-Z a-z 0-9 . _ : @ -');

/**
 * Money and quantities travel as decimal strings, never floats, of at most `MAX_AMOUNT_DIGITS` integer
 * digits (src/domain/limits.ts): whatever the engine derives from them fits `numeric(28, 8)`.
 */
export const DecimalString = z
  .string()
  .regex(
    new RegExp(`^-?\\d{1,${MAX_AMOUNT_DIGITS}}(\\.\\d{1,8})?$`),
    `a decimal string such as "50.00" (at most ${MAX_AMOUNT_DIGITS} digits before the point and 8 after, no exponent)`,
  );

export const NonNegativeDecimal = z
  .string()
  .regex(
    new RegExp(`^\\d{1,${MAX_AMOUNT_DIGITS}}(\\.\\d{1,8})?$`),
    `a non-negative decimal string such as "50.00" (at most ${MAX_AMOUNT_DIGITS} digits before the point)`,
  );

export const PositiveDecimal = NonNegativeDecimal.refine((v) => /[1-9]/.test(v), 'must be greater than zero');

/** A trade's size in lots: positive, at most `MAX_LOTS_DIGITS` integer digits. */
export const Lots = z
  .string()
  .regex(
    new RegExp(`^\\d{1,${MAX_LOTS_DIGITS}}(\\.\\d{1,8})?$`),
    `a decimal string such as "1.5" (at most ${MAX_LOTS_DIGITS} digits before the point)`,
  )
  .refine((v) => /[1-9]/.test(v), 'must be greater than zero');

export const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as "EUR"');

/** RFC 3339 with an offset; stored and returned in UTC. */
export const Timestamp = z.iso.datetime({ offset: true });

export const ErrorOut = z
  .object({
    error: z.object({
      code: z.string().describe('Stable snake_case code'),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });
