import { z } from 'zod';

export const IntakeLimitIn = z
  .strictObject({
    perSecond: z.int().min(1).max(100_000).describe('Events per second admitted on average'),
    burst: z
      .int()
      .min(1)
      .max(100_000)
      .describe('Events admitted at once after a quiet spell; also the largest batch accepted'),
  })
  .nullable()
  .describe(
    "The operator's intake limit, shared by every API process (null: unlimited). Over it, `POST /v1/events` " +
      'and `POST /v1/events/batch` answer `429` with `Retry-After` and record nothing.',
  )
  .meta({ id: 'IntakeLimit' });

export const OperatorIn = z
  .strictObject({ name: z.string().trim().min(1).max(200), intakeLimit: IntakeLimitIn.optional() })
  .meta({ id: 'OperatorIn' });
export type OperatorIn = z.infer<typeof OperatorIn>;

export const OperatorPatchIn = z.strictObject({ intakeLimit: IntakeLimitIn }).meta({ id: 'OperatorPatchIn' });

export const OperatorParams = z.object({ id: z.string().min(1).max(64) });

export const OperatorOut = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    intakeLimit: IntakeLimitIn,
  })
  .meta({ id: 'OperatorOut' });

export const OperatorCreatedOut = z
  .object({
    id: z.string(),
    name: z.string(),
    apiKey: z.string().describe('Shown once; only its hash is stored'),
    createdAt: z.string(),
    intakeLimit: IntakeLimitIn,
  })
  .meta({ id: 'OperatorCreatedOut' });
