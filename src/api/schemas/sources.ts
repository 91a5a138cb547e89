import { z } from 'zod';
import type { Source } from '../../db/sources.js';
import { parseCidr } from '../../delivery/ssrf.js';
import { INBOUND_EVENT_TYPES } from '../../domain/event-types.js';
import { CANONICAL_PATH_HINT, isCanonicalPath } from '../../ingest/inbound-map.js';

/** Inbound sources: who may push events for an operator without its API key, and how GET postbacks map. */

const Cidr = z.string().superRefine((value, ctx) => {
  try {
    parseCidr(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const QueryField = z
  .string()
  .regex(/^[A-Za-z0-9_.\-[\]]{1,64}$/, 'a query parameter name: 1-64 of A-Z a-z 0-9 _ . - [ ]');
const CanonicalPath = z.string().refine(isCanonicalPath, CANONICAL_PATH_HINT);

const atMost = (n: number) => (record: object) => Object.keys(record).length <= n;

const fields = {
  name: z.string().min(1).max(200),
  ipAllowlist: z
    .array(Cidr)
    .max(100)
    .describe('CIDRs or addresses the source sends from; empty or absent: any address'),
  fieldMap: z
    .record(QueryField, z.union([CanonicalPath, z.array(CanonicalPath).min(1).max(5)]))
    .refine(atMost(100), 'at most 100 fields')
    .describe(
      'GET postbacks: query field -> canonical path(s), e.g. {"player": "customerId", "txid": ["id", "data.depositId"]}. ' +
        'A data.<field> some event types declare is written only on those types; one no type declares, on every type',
    ),
  statusMap: z
    .record(z.string().min(1).max(128), z.enum(INBOUND_EVENT_TYPES))
    .refine(atMost(100), 'at most 100 values')
    .describe(
      'GET postbacks: values of the field mapped to "type" -> event types, e.g. {"ftd": "deposit.completed"}',
    ),
  defaults: z
    .record(CanonicalPath, z.union([z.string().max(512), z.number(), z.boolean()]))
    .refine(atMost(100), 'at most 100 defaults')
    .describe(
      'GET postbacks: canonical path -> constant, used when no query field gives it, e.g. {"data.currency": "EUR"}; ' +
        'data paths apply per event type as in fieldMap',
    ),
};

export const SourceIn = z
  .strictObject({
    name: fields.name,
    verification: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('hmac') }),
        z.strictObject({ type: z.literal('token') }),
      ])
      .describe(
        'hmac: Standard Webhooks signatures with a whsec_ secret (POST only); token: a secret token in the URL path (POST and GET postbacks)',
      ),
    ipAllowlist: fields.ipAllowlist.optional(),
    fieldMap: fields.fieldMap.optional(),
    statusMap: fields.statusMap.optional(),
    defaults: fields.defaults.optional(),
  })
  .meta({ id: 'SourceIn' });
export type SourceIn = z.infer<typeof SourceIn>;

/** PATCH: any subset; `null` clears. The verification type is fixed: make a new source to change it. */
export const SourcePatch = z
  .strictObject({
    name: fields.name.optional(),
    ipAllowlist: fields.ipAllowlist.nullable().optional(),
    fieldMap: fields.fieldMap.nullable().optional(),
    statusMap: fields.statusMap.nullable().optional(),
    defaults: fields.defaults.nullable().optional(),
  })
  .meta({ id: 'SourcePatch' });
export type SourcePatch = z.infer<typeof SourcePatch>;

export const SourceOut = z
  .object({
    id: z.string(),
    name: z.string(),
    verification: z.object({ type: z.enum(['hmac', 'token']) }),
    ipAllowlist: z.array(z.string()),
    fieldMap: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    statusMap: z.record(z.string(), z.string()),
    defaults: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    inboundUrl: z
      .string()
      .describe(
        'Path to send to, relative to the API base URL; for token sources it holds the token only in the answers that carry the secret, else "{token}"',
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
    secret: z.string().optional().describe('Only when created: the whsec_ secret or the token'),
  })
  .meta({ id: 'SourceOut' });
export type SourceOut = z.infer<typeof SourceOut>;

export const SourceSecretOut = z
  .object({
    secret: z.string(),
    inboundUrl: z.string(),
    previousSecretExpiresAt: z.string().nullable().describe('Until then the previous secret still verifies'),
  })
  .meta({ id: 'SourceSecretOut' });

/** Where the source sends, relative to the API base URL; a token source's token only when it is shown. */
export function inboundUrl(source: Pick<Source, 'id' | 'verification'>, token?: string): string {
  const base = `/v1/inbound/${source.id}`;
  return source.verification === 'hmac' ? base : `${base}/${token ?? '{token}'}`;
}

export function toSourceOut(s: Source, secret?: string): SourceOut {
  return {
    id: s.id,
    name: s.name,
    verification: { type: s.verification },
    ipAllowlist: s.ipAllowlist,
    fieldMap: s.fieldMap,
    statusMap: s.statusMap,
    defaults: s.defaults,
    inboundUrl: inboundUrl(s, secret),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    ...(secret ? { secret } : {}),
  };
}

export const InboundRequestOut = z
  .object({
    id: z.string().describe('`ir_...`'),
    receivedAt: z.string(),
    method: z.string(),
    ip: z.string().describe('The client address, as TRUST_PROXY lets the API read it'),
    status: z.number().describe('The HTTP status it was answered'),
    outcome: z.enum(['accepted', 'refused']).describe('accepted: answered below 400'),
    reason: z
      .string()
      .nullable()
      .describe(
        'Why it was refused, as a code: wrong_signature, wrong_token, ip_not_allowed, stale_timestamp, replay, ' +
          'missing_signature_headers, not_a_token_source, validation_failed, event_conflict, unavailable, ...; null when accepted',
      ),
    eventIds: z.array(z.string()).describe('The event ids it carried, as far as they could be read'),
  })
  .meta({ id: 'InboundRequestOut' });
