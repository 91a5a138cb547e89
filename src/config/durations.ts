import { z } from 'zod';

/** A duration setting (`500ms`, `5s`, `2h`, `90d`) as milliseconds; shared by every config area. */
export const durationMs = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "500ms", "5s", "2h"')
  .transform((v) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(v)!;
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms'];
    return Number(match[1]) * unit;
  });
