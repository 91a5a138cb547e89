import { z } from 'zod';
import type { Endpoint } from '../../db/endpoints.js';
import { formatDuration, isDuration } from '../../domain/duration.js';
import { EVENT_TYPE_PATTERN } from '../../domain/matching.js';
import { expandSubscription, subscriptionIssues } from '../../domain/postback/meaning.js';
import {
  PRESET_NAMES,
  resolvePostbackConfig,
  validatePostbackConfig,
  type PostbackSettings,
} from '../../domain/postback/presets.js';
import { validateRetryPolicy, type RetryPolicy } from '../../domain/retry-policy.js';
import { RESERVED_HEADERS } from '../../domain/webhook-payload.js';
import { ExternalId } from '../../contract/common.js';
import { EndpointFilter } from './endpoint-filter.js';

/** Endpoints (docs/api-v1.md section 4). */

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

const UrlTemplate = z.string().max(2048);
const StatusValue = z.string().max(100).describe("The tracker's word for this status");

/**
 * A postback endpoint's settings (docs/api-v1.md section 4). The shape is checked here; what the shape cannot say
 * (macros, braces, the URL a preset builds from `url`, POST needing a body, the matcher compiling) is
 * checked by validatePostbackConfig, with the endpoint's `url`: see postbackIssues.
 */
export const PostbackIn = z
  .strictObject({
    preset: z
      .enum(PRESET_NAMES)
      .optional()
      .describe('Fills method, status map and, when `template` is left out, the template from `url`'),
    method: z.enum(['GET', 'POST']).optional().describe('GET by default'),
    template: UrlTemplate.optional().describe(
      'The URL, with macros: {click_id}, {sub1}..{sub10}, {event_id}, {payout}...; {_name} inserts a value raw',
    ),
    reversalTemplate: UrlTemplate.optional().describe(
      'The URL for rejections, reversals, chargebacks and refunds, when the tracker takes them elsewhere',
    ),
    bodyTemplate: z.string().max(8192).optional().describe('POST only'),
    bodyEncoding: z.enum(['form', 'json']).optional().describe('POST only'),
    statusMap: z
      .strictObject({
        pending: StatusValue.optional(),
        approved: StatusValue.optional(),
        rejected: StatusValue.optional(),
        reversed: StatusValue.optional(),
      })
      .optional(),
    successMatch: z
      .string()
      .max(500)
      .optional()
      .describe(
        'A regular expression a successful answer’s body must match (trackers that answer 200 to a refusal)',
      ),
    negativePayoutOnReversal: z
      .boolean()
      .optional()
      .describe(
        'Send a rejection or reversal with a negative payout, a chargeback or refund with a negative ' +
          'amount; the preset decides when left out',
      ),
  })
  .meta({ id: 'PostbackConfig' });
export type PostbackIn = z.infer<typeof PostbackIn>;

/**
 * The problems of an endpoint's postback settings for its `format`: settings required for a postback
 * endpoint and refused for a webhook one, then validatePostbackConfig's findings, each at the field it names.
 */
export function postbackIssues(
  format: 'webhook' | 'postback',
  url: string,
  postback: PostbackIn | null | undefined,
): { path: string[]; message: string }[] {
  if (format === 'webhook') {
    return postback ? [{ path: ['postback'], message: 'only for an endpoint with format "postback"' }] : [];
  }
  if (!postback) return [{ path: ['postback'], message: 'required for an endpoint with format "postback"' }];
  return validatePostbackConfig(url, postback as PostbackSettings).map((problem) => {
    // "postback.template: unknown macro ...", or "url (the keitaro preset builds its template from it): ..."
    const m = /^(postback(?:\.[A-Za-z0-9]+)*|url)(?: \((.*?)\))?: ([\s\S]*)$/.exec(problem);
    if (!m) return { path: ['postback'], message: problem };
    return { path: m[1]!.split('.'), message: m[2] ? `${m[2]}: ${m[3]!}` : m[3]! };
  });
}

/**
 * The subscription problems of a postback endpoint, each at `eventTypes.<index>`: an exact type it cannot
 * carry (a negative type without a reversal, a type that means nothing to a tracker), or a wildcard that
 * matches nothing it can. None while the settings themselves are invalid: those are reported first.
 */
export function subscriptionProblems(
  format: 'webhook' | 'postback',
  url: string,
  postback: PostbackIn | null | undefined,
  eventTypes: readonly string[],
): { path: (string | number)[]; message: string }[] {
  if (format !== 'postback' || !postback) return [];
  const resolved = resolvePostbackConfig(url, postback as PostbackSettings);
  if (!resolved.ok) return [];
  return subscriptionIssues(resolved.config, eventTypes).map(({ index, message }) => ({
    path: ['eventTypes', index],
    message,
  }));
}

const fields = {
  url: z.url({ protocol: /^https?$/ }).max(2048),
  description: z.string().max(500).optional(),
  eventTypes: z
    .array(z.string().regex(EVENT_TYPE_PATTERN, 'an event type, `prefix.*` or `*`'))
    .min(1)
    .max(100)
    .describe(
      'Exact types, `prefix.*` or `*`. `*` is every business event but not the operational ones ' +
        '(`delivery.*`, `endpoint.*`, `settlement.*`), which reach only endpoints naming them. An event goes to the endpoints ' +
        'subscribed when it was accepted: a change applies to events accepted after it. A postback endpoint ' +
        'sends a tracker only conversions and the reversals its settings define: an exact type it cannot ' +
        'send (a chargeback or refund without a reversal, a type that means nothing to a tracker) is 422 at ' +
        '`eventTypes.<index>`, and a wildcard leaves such types out (`eventTypesExcluded`)',
    ),
  affiliateId: ExternalId.optional().describe('Only events attributed to this affiliate'),
  format: z.enum(['webhook', 'postback']).default('webhook'),
  headers: Headers.optional().describe(
    'Sent with every attempt; stored sealed (AES-256-GCM), readable with the operator key',
  ),
  retryPolicy: RetryPolicyIn.optional(),
  timeout: Duration.optional().describe('Per attempt; default 15s, at most 60s'),
  rateLimitPerSecond: z.int().min(1).max(10_000).optional(),
  postback: PostbackIn.optional().describe('Required when format is "postback"; refused otherwise'),
  // Described by its component (EndpointFilter): a description here would inline it.
  filter: EndpointFilter.optional(),
  enabled: z.boolean().default(true),
};

export const EndpointIn = z
  .strictObject(fields)
  .superRefine((endpoint, ctx) => {
    for (const { path, message } of [
      ...postbackIssues(endpoint.format, endpoint.url, endpoint.postback),
      ...subscriptionProblems(endpoint.format, endpoint.url, endpoint.postback, endpoint.eventTypes),
    ]) {
      ctx.addIssue({ code: 'custom', path, message });
    }
  })
  .meta({ id: 'EndpointIn' });
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
    filter: fields.filter.nullable(),
    enabled: z.boolean().optional(),
  })
  .meta({ id: 'EndpointPatch' });
export type EndpointPatch = z.infer<typeof EndpointPatch>;

const BreakerOut = z
  .object({
    state: z
      .enum(['closed', 'open', 'half_open'])
      .describe(
        '`open`: its last `BREAKER_FAILURE_THRESHOLD` attempts failed; one delivery probes it at `nextProbeAt` ' +
          'while the others wait, spending no attempt. `half_open`: that probe is on the wire. `closed`: deliveries go out',
      ),
    since: z.string().nullable().describe('When the state began; null if the breaker never opened'),
    nextProbeAt: z.string().nullable().describe('While open: the earliest time of the next probe'),
    consecutiveFailures: z.number().describe('Failed attempts in a row, of any of its deliveries'),
  })
  .meta({ id: 'EndpointBreaker' });

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
    postback: PostbackIn.optional().describe(
      'A postback endpoint’s settings as saved; absent on a webhook endpoint',
    ),
    eventTypesDelivered: z
      .array(z.string())
      .optional()
      .describe(
        'Postback endpoints: every type `eventTypes` matches that the endpoint sends its tracker, wildcards ' +
          'expanded: conversions through the template, negative types (chargebacks, refunds, rejected or ' +
          'reversed commissions) as the reversal its settings define. Absent on a webhook endpoint',
      ),
    eventTypesExcluded: z
      .array(
        z.object({
          eventType: z.string(),
          reason: z.string().describe('Why the endpoint does not send it, and what would change that'),
        }),
      )
      .optional()
      .describe(
        'Postback endpoints: the types a wildcard of `eventTypes` matches that the endpoint never sends: ' +
          'a negative type it has no reversal for (it would reach the tracker as a new conversion), or a ' +
          'type that means nothing to a tracker. Absent on a webhook endpoint',
      ),
    filter: EndpointFilter.nullable(), // null: every event of its types
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    breaker: BreakerOut,
    createdAt: z.string(),
    updatedAt: z.string(),
    secret: z.string().optional().describe('Only when created or rotated'),
  })
  .meta({ id: 'EndpointOut' });
export type EndpointOut = z.infer<typeof EndpointOut>;

/** `headers` is the endpoint's custom header map, opened (openHeaders). */
export function toEndpointOut(e: Endpoint, headers: Record<string, string>, secret?: string): EndpointOut {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    affiliateId: e.affiliateId,
    format: e.format,
    headers,
    retryPolicy: e.retryPolicy,
    timeout: formatDuration(e.timeoutMs),
    rateLimitPerSecond: e.rateLimitPerSecond,
    filter: e.filter,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    breaker: {
      state: e.breaker.state,
      since: e.breaker.since?.toISOString() ?? null,
      nextProbeAt: e.breaker.nextProbeAt?.toISOString() ?? null,
      consecutiveFailures: e.breaker.consecutiveFailures,
    },
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    ...(e.format === 'postback' && e.postback ? postbackOut(e) : {}),
    ...(secret ? { secret } : {}),
  };
}

/** A postback endpoint's settings, and what its subscription delivers and leaves out with them. */
function postbackOut(
  e: Endpoint,
): Pick<EndpointOut, 'postback' | 'eventTypesDelivered' | 'eventTypesExcluded'> {
  const postback = e.postback as PostbackIn;
  const resolved = resolvePostbackConfig(e.url, postback as PostbackSettings);
  if (!resolved.ok) return { postback }; // saved by another version: its deliveries say what is wrong
  const { delivered, excluded } = expandSubscription(resolved.config, e.eventTypes);
  return { postback, eventTypesDelivered: delivered, eventTypesExcluded: excluded };
}

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

export const EndpointHealthOut = z
  .object({
    endpointId: z.string(),
    window: z.literal('24h'),
    since: z.string().describe('The window starts here (24 hours before the answer)'),
    attempts: z.number().describe('Attempts started in the window, test sends included'),
    succeeded: z.number(),
    failed: z.number().describe('Attempts with an error: a non-2xx answer, a timeout, a refused postback'),
    successRate: z
      .string()
      .nullable()
      .describe('succeeded / attempts as a decimal string with 4 places ("0.9500"); null without attempts'),
    lastFailure: z
      .object({
        deliveryId: z.string(),
        number: z.number(),
        at: z.string(),
        statusCode: z.number().nullable(),
        error: z.string(),
      })
      .nullable()
      .describe('The latest failed attempt in the window'),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    breaker: z.enum(['closed', 'open', 'half_open']),
  })
  .meta({ id: 'EndpointHealthOut' });
