import { z } from 'zod';
import { FX_LOOKBACK_DAYS_DEFAULT, FX_LOOKBACK_DAYS_MAX } from '../domain/fx.js';

/** Settings of the commission engine's exchange rates (src/domain/fx.ts), spread into the config schema. */
export const fxSettings = {
  FX_RATE_LOOKBACK_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .max(FX_LOOKBACK_DAYS_MAX)
    .default(FX_LOOKBACK_DAYS_DEFAULT)
    .describe(
      `When the operator has no exchange rate for an amount's UTC date, the latest of this many days before it is used (0: the day's own rate only; at most ${FX_LOOKBACK_DAYS_MAX}). Without one the CPA waits (\`fx_rate_missing\`).`,
    ),
};
