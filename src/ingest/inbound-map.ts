import type { z } from 'zod';
import { errors, type ErrorDetail } from '../errors.js';
import { EVENT_DATA_SCHEMAS, EventIn } from '../contract/events.js';
import type { InboundMapping } from '../contract/inbound-mapping.js';
import { INBOUND_EVENT_TYPES } from '../domain/event-types.js';
import { bodyHash } from '../body-hash.js';

/**
 * How a GET postback (`?event=ftd&player=p-42&amount=50.00&txid=tx-9`) becomes a canonical event, by the
 * source's mapping. Pure: no I/O; the result is validated by the same zod schema as `POST /v1/events`.
 *
 * - `fieldMap`: query field -> canonical path, or several (`{"txid": ["id", "data.depositId"]}`).
 * - `statusMap`: values of the field mapped to `type` -> event types (`{"ftd": "deposit.completed"}`).
 * - `defaults`: canonical path -> constant, used when no query field supplies the path.
 *
 * Data paths apply per event type: `data.depositId` or a `data.currency` default reach only the types whose
 * `data` declares that field (a registration gets no deposit's fields); a field no type declares is the
 * operator's own and reaches every type.
 *
 * An empty query value counts as absent (trackers send `amount=` for an empty macro). `occurredAt` may be
 * RFC 3339 or unix seconds or milliseconds; absent, it is the time of receipt, and then it is left out of the
 * body hash, so a sender retrying the same postback later is answered `duplicate`, not `conflict`.
 */

export type { Defaults, FieldMap, InboundMapping, StatusMap } from '../contract/inbound-mapping.js';

const TOP_LEVEL = new Set(['id', 'type', 'occurredAt', 'brand', 'customerId']);
const ATTRIBUTION = new Set(['attribution.affiliateId', 'attribution.clickId']);
const SUB_ID = /^attribution\.subIds\.sub([1-9]|10)$/;
const DATA_FIELD = /^data\.([A-Za-z_][A-Za-z0-9_]{0,63})$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export const CANONICAL_PATH_HINT =
  'a canonical event path: id, type, occurredAt, brand, customerId, attribution.affiliateId, ' +
  'attribution.clickId, attribution.subIds.sub1..sub10 or data.<field>';

/** Whether a mapping may write this path of a canonical event. */
export function isCanonicalPath(path: string): boolean {
  if (TOP_LEVEL.has(path) || ATTRIBUTION.has(path) || SUB_ID.test(path)) return true;
  const data = DATA_FIELD.exec(path);
  return data !== null && !FORBIDDEN_KEYS.has(data[1]!);
}

/** The `data` fields each event type declares, and every field some type declares. */
const DECLARED = new Map<string, ReadonlySet<string>>(
  Object.entries(EVENT_DATA_SCHEMAS).map(([type, schema]) => [type, new Set(Object.keys(schema.shape))]),
);
const DECLARED_BY_SOME = new Set([...DECLARED.values()].flatMap((fields) => [...fields]));

/** Drops the data fields another event type declares and this one does not. */
function keepDataOf(type: string, draft: Record<string, unknown>): void {
  const data = draft.data;
  const own = DECLARED.get(type);
  if (!own || data === null || typeof data !== 'object') return;
  for (const key of Object.keys(data)) {
    if (DECLARED_BY_SOME.has(key) && !own.has(key)) delete (data as Record<string, unknown>)[key];
  }
}

function pathsOf(target: string | string[]): string[] {
  return typeof target === 'string' ? [target] : target;
}

/**
 * What is wrong with a mapping as a whole (each part is checked by its schema): two query fields writing
 * one path, or a statusMap with no field or default for `type` to apply to.
 */
export function mappingProblems(mapping: InboundMapping): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const writer = new Map<string, string>();
  for (const [field, target] of Object.entries(mapping.fieldMap)) {
    for (const path of pathsOf(target)) {
      const earlier = writer.get(path);
      if (earlier !== undefined) {
        problems.push({
          path: `fieldMap.${field}`,
          message: `"${path}" is already mapped from query field "${earlier}"`,
        });
      } else writer.set(path, field);
    }
  }
  if (Object.keys(mapping.statusMap).length > 0 && !writer.has('type') && !('type' in mapping.defaults)) {
    problems.push({
      path: 'statusMap',
      message: 'maps values of the event type, but no fieldMap entry maps a query field to "type"',
    });
  }
  return problems;
}

export type PostbackQuery = Record<string, string | string[] | undefined>;

export type MappedPostback =
  | { ok: true; event: EventIn; hash: string; occurredAtFromReceipt: boolean }
  | { ok: false; issues: ErrorDetail[] };

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  if (keys.some((k) => FORBIDDEN_KEYS.has(k))) return;
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function getPath(source: unknown, path: readonly PropertyKey[]): unknown {
  let node = source;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Unix seconds (9-10 digits) or milliseconds (12-13 digits) as RFC 3339; anything else unchanged. */
function normaliseTime(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (/^\d{9,10}$/.test(value)) return new Date(Number(value) * 1000).toISOString();
  if (/^\d{12,13}$/.test(value)) return new Date(Number(value)).toISOString();
  return value;
}

/**
 * Query values are strings; where the schema wants a number or a boolean (`phase`), a string that reads
 * as one is converted. Returns whether anything changed.
 */
function coerceScalars(draft: Record<string, unknown>, issues: z.core.$ZodIssue[]): boolean {
  let changed = false;
  for (const issue of issues) {
    if (issue.code !== 'invalid_type') continue;
    const value = getPath(draft, issue.path);
    if (typeof value !== 'string') continue;
    let coerced: unknown;
    if (issue.expected === 'number' && /^-?\d{1,15}(\.\d{1,15})?$/.test(value)) coerced = Number(value);
    else if (issue.expected === 'boolean' && (value === 'true' || value === 'false'))
      coerced = value === 'true';
    else continue;
    setPath(draft, issue.path.map(String).join('.'), coerced);
    changed = true;
  }
  return changed;
}

/** Maps a postback's query to a canonical event and validates it; issues name the query field involved. */
export function mapPostback(query: PostbackQuery, mapping: InboundMapping, receivedAt: Date): MappedPostback {
  const draft: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const issues: ErrorDetail[] = [];

  for (const [path, value] of Object.entries(mapping.defaults)) {
    if (isCanonicalPath(path)) setPath(draft, path, value);
  }
  for (const [field, target] of Object.entries(mapping.fieldMap)) {
    const value = Object.hasOwn(query, field) ? query[field] : undefined;
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') {
      issues.push({ path: `query.${field}`, message: 'given more than once' });
      continue;
    }
    for (const path of pathsOf(target)) {
      if (!isCanonicalPath(path)) continue;
      setPath(draft, path, value);
      origin.set(path, field);
    }
  }
  if (issues.length) return { ok: false, issues };

  const type = draft.type;
  if (typeof type === 'string') {
    if (Object.hasOwn(mapping.statusMap, type)) draft.type = mapping.statusMap[type];
    else if (!(INBOUND_EVENT_TYPES as readonly string[]).includes(type)) {
      const field = origin.get('type');
      return {
        ok: false,
        issues: [
          {
            path: 'type',
            message: `"${type.slice(0, 64)}" is neither in the source's statusMap nor an event type${field ? ` (query field "${field}")` : ''}`,
          },
        ],
      };
    }
  }

  if (typeof draft.type === 'string') keepDataOf(draft.type, draft);

  const occurredAtFromReceipt = draft.occurredAt === undefined;
  draft.occurredAt = occurredAtFromReceipt ? receivedAt.toISOString() : normaliseTime(draft.occurredAt);

  let parsed = EventIn.safeParse(draft);
  if (!parsed.success && coerceScalars(draft, parsed.error.issues)) parsed = EventIn.safeParse(draft);
  if (!parsed.success) {
    const details = errors.validation(parsed.error.issues).details ?? [];
    return {
      ok: false,
      issues: details.map((d) => {
        const field = origin.get(d.path);
        if (field) return { path: d.path, message: `${d.message} (query field "${field}")` };
        if (getPath(draft, d.path.split('.')) === undefined && typeof draft.type === 'string') {
          return {
            path: d.path,
            message:
              `required for ${draft.type}, and no query field gives it: map one to "${d.path}" in the ` +
              `source's fieldMap or give it in defaults`,
          };
        }
        return d;
      }),
    };
  }
  const event = parsed.data;
  const hash = occurredAtFromReceipt ? bodyHash({ ...event, occurredAt: undefined }) : bodyHash(event);
  return { ok: true, event, hash, occurredAtFromReceipt };
}
