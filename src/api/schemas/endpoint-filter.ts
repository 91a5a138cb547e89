import { z } from 'zod';
import {
  FILTER_LIMITS,
  filterProblems,
  type FilterResult,
  type RoutingFilter,
} from '../../domain/routing-filter.js';
import { ExternalId } from '../../contract/common.js';

/**
 * An endpoint's `filter` (docs/api-v1.md section 4; src/domain/routing-filter.ts is the rule). The domain
 * validator checks it, so each problem comes back at its own path (`filter.and.1.gt`); the JSON Schema in
 * the OpenAPI document is written here, for clients, and test/unit/endpoint-filter-schema.test.ts holds it
 * to the validator.
 */

const FIELD_PATTERN = `^(brand|country|affiliateId|attribution\\.subIds\\.sub([1-9]|10)|data(\\.[A-Za-z0-9_-]{1,64}){1,${FILTER_LIMITS.maxDataSegments}})$`;
const SELF = { $ref: '#/components/schemas/EndpointFilter' };
const SCALAR = { type: ['string', 'integer', 'boolean'], description: 'Compared with JSON equality' };
const DECIMAL = {
  type: ['string', 'integer'],
  pattern: '^-?\\d+(\\.\\d{1,8})?$',
  description: 'A decimal string such as "10.50", or a whole number; compared as decimals',
};
const members = (kind: string) => ({
  type: 'object',
  required: [kind],
  additionalProperties: false,
  properties: {
    [kind]: { type: 'array', minItems: 1, maxItems: FILTER_LIMITS.maxMembers, items: SELF },
  },
});
const condition = (op: string, schema: object) => ({
  type: 'object',
  required: ['field', op],
  additionalProperties: false,
  properties: {
    field: {
      type: 'string',
      pattern: FIELD_PATTERN,
      description:
        '`brand`, `country` (the event’s `data.country`, else the customer’s registered country), `affiliateId`, ' +
        '`attribution.subIds.sub1`..`sub10`, or `data.<name>` (`data.<name>.<name>` for nested fields)',
    },
    [op]: schema,
  },
});

export const EndpointFilter = z
  .unknown()
  .superRefine((raw, ctx) => {
    for (const { path, message } of filterProblems(raw, [])) ctx.addIssue({ code: 'custom', path, message });
  })
  .meta({
    id: 'EndpointFilter',
    description:
      'Which events of its `eventTypes` the endpoint receives, by what the event says (null or absent: all ' +
      'of them; a change applies to events accepted after it). A condition ' +
      '`{"field", "<operator>": value}` or a group `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`. ' +
      '`eq` is JSON equality, `in` equals one of a list, `prefix` a string start, `gt`/`gte`/`lt`/`lte` compare ' +
      'decimal strings exactly (`"10.50"` > `"9.9"`). A condition on a field the event lacks is false. At most ' +
      `${FILTER_LIMITS.maxConditions} conditions, groups ${FILTER_LIMITS.maxDepth} deep; a bad filter is 422 ` +
      'with one detail per problem, at its path',
    oneOf: [
      condition('eq', SCALAR),
      condition('in', { type: 'array', minItems: 1, maxItems: FILTER_LIMITS.maxValues, items: SCALAR }),
      condition('prefix', { type: 'string', minLength: 1, maxLength: FILTER_LIMITS.maxString }),
      ...(['gt', 'gte', 'lt', 'lte'] as const).map((op) => condition(op, DECIMAL)),
      members('and'),
      members('or'),
      { type: 'object', required: ['not'], additionalProperties: false, properties: { not: SELF } },
    ],
  });

const ClauseOut = z.object({
  path: z.string().describe('Where the clause sits in the filter: `filter`, `filter.and.0`, ...'),
  clause: z.string().describe('The clause in words: `country in ["ES"]`, `and of 2`'),
  result: z.boolean(),
  why: z.string().describe('The value the event carries (or that it has none), or how many members held'),
});

export const RoutingOut = z
  .object({
    filter: z.unknown().describe('The filter the event was judged by (the endpoint’s as of the event)'),
    reasons: z.array(ClauseOut).describe('Every clause with its result, outermost first'),
  })
  .meta({ id: 'DeliveryRouting' });

/** A sample of what an event says, for `POST /v1/endpoints/{id}/test-filter`. */
const SampleEvent = z.strictObject({
  brand: z.string().max(128).optional(),
  country: z
    .string()
    .max(8)
    .optional()
    .describe("The customer's registered country; the sample's `data.country` takes precedence"),
  attribution: z
    .strictObject({
      affiliateId: ExternalId.optional(),
      clickId: z.string().max(512).optional(),
      subIds: z.record(z.string(), z.string().max(512)).optional(),
    })
    .optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

export const TestFilterIn = z
  .strictObject({
    event: SampleEvent.optional().describe('A sample event, as an operator sends one'),
    eventId: ExternalId.optional().describe('A stored event of the operator, judged as it was delivered'),
    filter: EndpointFilter.optional(), // to try instead of the endpoint's own
  })
  .refine((b) => (b.event === undefined) !== (b.eventId === undefined), {
    message: 'exactly one of `event` and `eventId`',
  })
  .meta({ id: 'TestFilterIn' });

export const TestFilterOut = z
  .object({
    match: z.boolean().describe('Whether the endpoint would receive the event (true when it has no filter)'),
    filter: z.unknown().nullable().describe('The filter judged; null when the endpoint has none'),
    reasons: z.array(ClauseOut),
  })
  .meta({ id: 'TestFilterOut' });

export function toTestFilterOut(filter: RoutingFilter | null, result: FilterResult | null) {
  return { match: result?.match ?? true, filter, reasons: result?.reasons ?? [] };
}
