import { z } from 'zod';

export const OperatorIn = z
  .strictObject({ name: z.string().trim().min(1).max(200) })
  .meta({ id: 'OperatorIn' });
export type OperatorIn = z.infer<typeof OperatorIn>;

export const OperatorCreatedOut = z
  .object({
    id: z.string(),
    name: z.string(),
    apiKey: z.string().describe('Shown once; only its hash is stored'),
    createdAt: z.string(),
  })
  .meta({ id: 'OperatorCreatedOut' });
