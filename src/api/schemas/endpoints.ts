import { z } from 'zod';
import { isDuration } from '../../domain/duration.js';
import { EVENT_TYPE_PATTERN } from '../../domain/matching.js';
import { validateRetryPolicy, type RetryPolicy } from '../../domain/retry-policy.js';
import { RESERVED_HEADERS } from '../../domain/webhook-payload.js';
import { ExternalId } from './common.js';

/** Endpoints (contract section 4). */

const Duration = z.string().refine(isDuration, 'a duration such as "500ms", "5s", "30m", "2h", "3d"');

export const RetryPolicyIn = z
  .union([
    z.strictObject({
      schedule: z.array(Duration).min(1).max(50).describe('Waits after each failed attempt'),
      jitter: z.number().min(0).max(1).optional(),
    }),
    z.strictObject({
      initialInterval: Duration,
      backoffCoefficient: z.number().min(1).max(10),
      maximumInterval: Duration.optional(),
      maximumAttempts: z.int().min(1).max(100),
      jitter: z.number().min(0).max(1).optional(),
    }),
  ])
  .superRefine((policy, ctx) => {
    for (const message of validateRetryPolicy(policy as RetryPolicy))
      ctx.addIssue({ code: 'custom', message });
  })
  .meta({ id: 'RetryPolicy' });

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'an HTTP header name');
const Headers = z
  .record(
    HeaderName,
    z
      .string()
      .max(1000)
      .regex(/^[^\r\n]*$/, 'no line breaks'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 custom headers')
  .refine(
    (h) => !Object.keys(h).some((k) => RESERVED_HEADERS.has(k.toLowerCase())),
    'the webhook-*, content-type, content-length and host headers are set by the orchestrator',
  );

const fields = {
  url: z.url({ protocol: /^https?$/ }).max(2048),
  description: z.string().max(500).optional(),
  eventTypes: z
    .array(z.string().regex(EVENT_TYPE_PATTERN, 'an event type, `prefix.*` or `*`'))
    .min(1)
    .max(100),
  affiliateId: ExternalId.optional().describe('Only events attributed to this affiliate'),
  format: z.enum(['webhook', 'postback']).default('webhook'),
  headers: Headers.optional(),
  retryPolicy: RetryPolicyIn.optional(),
  timeout: Duration.optional().describe('Per attempt; default 15s, at most 60s'),
  rateLimitPerSecond: z.int().min(1).max(10_000).optional(),
  postback: z.record(z.string(), z.unknown()).optional(),
  enabled: z.boolean().default(true),
};

export const EndpointIn = z.strictObject(fields).meta({ id: 'EndpointIn' });
export type EndpointIn = z.infer<typeof EndpointIn>;

/** PATCH: any subset; `null` clears an optional field. */
export const EndpointPatch = z
  .strictObject({
    url: fields.url.optional(),
    description: fields.description.nullable(),
    eventTypes: fields.eventTypes.optional(),
    affiliateId: fields.affiliateId.nullable(),
    headers: fields.headers.nullable(),
    retryPolicy: fields.retryPolicy.nullable(),
    timeout: fields.timeout.nullable(),
    rateLimitPerSecond: fields.rateLimitPerSecond.nullable(),
    postback: fields.postback.nullable(),
    enabled: z.boolean().optional(),
  })
  .meta({ id: 'EndpointPatch' });
export type EndpointPatch = z.infer<typeof EndpointPatch>;

export const EndpointOut = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    affiliateId: z.string().nullable(),
    format: z.enum(['webhook', 'postback']),
    headers: z.record(z.string(), z.string()),
    retryPolicy: z.unknown().nullable(),
    timeout: z.string(),
    rateLimitPerSecond: z.number().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    secret: z.string().optional().describe('Only when created or rotated'),
  })
  .meta({ id: 'EndpointOut' });
export type EndpointOut = z.infer<typeof EndpointOut>;

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

export const RecoverIn = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
    dryRun: z.boolean().default(false),
  })
  .meta({ id: 'RecoverIn' });
