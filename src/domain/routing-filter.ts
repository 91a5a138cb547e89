/**
 * An endpoint's filter: which of the events its `eventTypes` match it receives, judged by what the event
 * says (its brand, the customer's country, the attributed affiliate and sub-ids, its `data`). Pure and
 * workflow-safe: validated when an endpoint is saved (filterProblems), applied at fan-out (evaluateFilter).
 *
 * The form (docs/api-v1.md section 4): a condition `{"field": "<path>", "<operator>": value}`, or a group
 * `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`. Operators: `eq` (JSON equality: `"50.00"` is not
 * `"50"`), `in` (eq to one of a list), `prefix` (a string starting with it), `gt`/`gte`/`lt`/`lte` (decimal
 * comparison of decimal strings, never through a float: `"10.50"` > `"9.9"`).
 *
 * Invariant: a condition on a field the event does not carry, or on a value of the wrong kind (a prefix of a
 * number, an amount that is not a decimal), is false, and says so in its reason; `not` of it is true.
 */
import { compare, isDecimal } from './money.js';

export type FilterScalar = string | number | boolean;

export type FilterCondition =
  | { field: string; eq: FilterScalar }
  | { field: string; in: FilterScalar[] }
  | { field: string; prefix: string }
  | { field: string; gt: string | number }
  | { field: string; gte: string | number }
  | { field: string; lt: string | number }
  | { field: string; lte: string | number };

export type RoutingFilter =
  FilterCondition | { and: RoutingFilter[] } | { or: RoutingFilter[] } | { not: RoutingFilter };

/** What a filter reads of an event: the same values its webhook body carries. */
export interface FilterSubject {
  brand: string | null;
  /** The event's `data.country`, else the customer's country recorded at registration. */
  country: string | null;
  affiliateId: string | null;
  subIds: Record<string, unknown>;
  data: Record<string, unknown>;
}

/** One clause of a filter judged against one event. */
export interface ClauseResult {
  /** Where the clause sits in the endpoint's body: `filter`, `filter.and.0`, ... */
  path: string;
  /** The clause in words: `brand eq "casino-x"`, `and of 2`. */
  clause: string;
  result: boolean;
  /** Why: the value the event carries and how it compares, or how many members of a group held. */
  why: string;
}

export interface FilterResult {
  match: boolean;
  /** Every clause, outermost first, in the filter's order. */
  reasons: ClauseResult[];
}

export const FILTER_LIMITS = {
  /** Groups inside groups: `{"and": [{"or": [{"not": cond}]}]}` is 3. */
  maxDepth: 4,
  /** Conditions in the whole filter. */
  maxConditions: 32,
  /** Members of one `and`/`or`. */
  maxMembers: 32,
  /** Values of one `in`. */
  maxValues: 100,
  /** Characters of a string value or of a field path. */
  maxString: 256,
  /** Segments of a `data.*` path. */
  maxDataSegments: 6,
} as const;

export const FILTER_OPERATORS = ['eq', 'in', 'prefix', 'gt', 'gte', 'lt', 'lte'] as const;
type Operator = (typeof FILTER_OPERATORS)[number];
const COMPARISONS = new Set<Operator>(['gt', 'gte', 'lt', 'lte']);
const GROUPS = ['and', 'or', 'not'] as const;

const SUB_ID = /^attribution\.subIds\.sub([1-9]|10)$/;
const DATA_PATH = new RegExp(`^data(\\.[A-Za-z0-9_-]{1,64}){1,${FILTER_LIMITS.maxDataSegments}}$`);
const FIELD_HELP =
  'brand, country, affiliateId, attribution.subIds.sub1..sub10, or data.<name> (data.<name>.<name> for nested fields)';

export function isFilterField(field: string): boolean {
  return (
    field === 'brand' ||
    field === 'country' ||
    field === 'affiliateId' ||
    SUB_ID.test(field) ||
    (field.length <= FILTER_LIMITS.maxString && DATA_PATH.test(field))
  );
}

export interface FilterProblem {
  path: string[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A decimal string (at most 8 decimals, no exponent) or a whole number: what a comparison takes. */
function isComparable(v: unknown): boolean {
  return isDecimal(v) || (typeof v === 'number' && Number.isSafeInteger(v));
}

function scalarProblem(v: unknown): string | null {
  if (typeof v === 'string') return v.length > FILTER_LIMITS.maxString ? 'at most 256 characters' : null;
  if (typeof v === 'boolean') return null;
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? null : 'a whole number, or a decimal string such as "10.50"';
  }
  return 'a string, a whole number or a boolean';
}

/**
 * Every problem of a filter as sent, each at its path below `base` (`["filter", "and", "0", "field"]`):
 * shape, operators, fields, values and the bounds of FILTER_LIMITS. Empty when it is a valid RoutingFilter.
 */
export function filterProblems(raw: unknown, base: string[] = ['filter']): FilterProblem[] {
  const problems: FilterProblem[] = [];
  let conditions = 0;
  const visit = (node: unknown, path: string[], depth: number): void => {
    if (!isObject(node)) {
      problems.push({
        path,
        message: 'a condition {"field", "<operator>": value} or {"and"|"or"|"not": ...}',
      });
      return;
    }
    const group = GROUPS.filter((g) => g in node);
    if (group.length) {
      const g = group[0]!;
      const extra = Object.keys(node).filter((k) => k !== g);
      if (extra.length) {
        problems.push({ path, message: `a group has only "${g}"; found also ${quoteList(extra)}` });
        return;
      }
      if (depth >= FILTER_LIMITS.maxDepth) {
        problems.push({ path, message: `groups nest at most ${FILTER_LIMITS.maxDepth} deep` });
        return;
      }
      if (g === 'not') return visit(node.not, [...path, 'not'], depth + 1);
      const members = node[g];
      if (!Array.isArray(members) || !members.length || members.length > FILTER_LIMITS.maxMembers) {
        problems.push({
          path: [...path, g],
          message: `a list of 1 to ${FILTER_LIMITS.maxMembers} filters`,
        });
        return;
      }
      members.forEach((m, i) => visit(m, [...path, g, String(i)], depth + 1));
      return;
    }
    conditions++;
    conditionProblems(node, path, problems);
  };
  visit(raw, base, 0);
  if (conditions > FILTER_LIMITS.maxConditions) {
    problems.push({
      path: base,
      message: `at most ${FILTER_LIMITS.maxConditions} conditions in a filter (found ${conditions})`,
    });
  }
  return problems;
}

function conditionProblems(node: Record<string, unknown>, path: string[], problems: FilterProblem[]): void {
  const field = node.field;
  if (typeof field !== 'string' || !isFilterField(field)) {
    problems.push({ path: [...path, 'field'], message: `a field: ${FIELD_HELP}` });
  }
  const keys = Object.keys(node).filter((k) => k !== 'field');
  const ops = keys.filter((k): k is Operator => (FILTER_OPERATORS as readonly string[]).includes(k));
  for (const k of keys.filter((k) => !ops.includes(k as Operator))) {
    problems.push({
      path: [...path, k],
      message: `unknown operator "${k}"; one of ${FILTER_OPERATORS.join(', ')}`,
    });
  }
  if (ops.length !== 1) {
    if (!keys.length || ops.length > 1) {
      problems.push({
        path,
        message: `exactly one operator of ${FILTER_OPERATORS.join(', ')} (found ${ops.length})`,
      });
    }
    return;
  }
  const op = ops[0]!;
  const value = node[op];
  const at = [...path, op];
  if (op === 'in') {
    if (!Array.isArray(value) || !value.length || value.length > FILTER_LIMITS.maxValues) {
      problems.push({ path: at, message: `a list of 1 to ${FILTER_LIMITS.maxValues} values` });
      return;
    }
    value.forEach((v, i) => {
      const p = scalarProblem(v);
      if (p) problems.push({ path: [...at, String(i)], message: p });
    });
  } else if (op === 'prefix') {
    if (typeof value !== 'string' || !value.length || value.length > FILTER_LIMITS.maxString) {
      problems.push({ path: at, message: 'a string of 1 to 256 characters' });
    }
  } else if (COMPARISONS.has(op)) {
    if (!isComparable(value)) {
      problems.push({
        path: at,
        message: 'a decimal string such as "10.50" (at most 8 decimals) or a whole number; never a float',
      });
    }
  } else {
    const p = scalarProblem(value);
    if (p) problems.push({ path: at, message: p });
  }
}

function quoteList(keys: string[]): string {
  return keys.map((k) => `"${k}"`).join(', ');
}

/** The value a field path reads from the subject; `undefined` when the event does not carry it. */
export function fieldValue(subject: FilterSubject, field: string): unknown {
  if (field === 'brand') return subject.brand ?? undefined;
  if (field === 'country') return subject.country ?? undefined;
  if (field === 'affiliateId') return subject.affiliateId ?? undefined;
  if (field.startsWith('attribution.subIds.')) return own(subject.subIds, field.slice(19));
  let value: unknown = subject.data;
  for (const segment of field.split('.').slice(1)) {
    value = isObject(value) ? own(value, segment) : undefined;
  }
  return value === null ? undefined : value;
}

function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Judges every clause of `filter` against the subject; matches when the outermost clause holds. */
export function evaluateFilter(filter: RoutingFilter, subject: FilterSubject): FilterResult {
  const reasons: ClauseResult[] = [];
  const judge = (node: RoutingFilter, path: string): boolean => {
    if ('and' in node || 'or' in node) {
      const kind = 'and' in node ? 'and' : 'or';
      const members = 'and' in node ? node.and : node.or;
      const slot = reasons.push({ path, clause: `${kind} of ${members.length}`, result: false, why: '' }) - 1;
      const results = members.map((m, i) => judge(m, `${path}.${kind}.${i}`));
      const held = results.filter(Boolean).length;
      const result = kind === 'and' ? held === members.length : held > 0;
      reasons[slot] = { ...reasons[slot]!, result, why: `${held} of ${members.length} held` };
      return result;
    }
    if ('not' in node) {
      const slot = reasons.push({ path, clause: 'not', result: false, why: '' }) - 1;
      const inner = judge(node.not, `${path}.not`);
      reasons[slot] = { ...reasons[slot]!, result: !inner, why: `the inner clause is ${inner}` };
      return !inner;
    }
    const r = judgeCondition(node, subject);
    reasons.push({ path, ...r });
    return r.result;
  };
  return { match: judge(filter, 'filter'), reasons };
}

function judgeCondition(c: FilterCondition, subject: FilterSubject): Omit<ClauseResult, 'path'> {
  const op = FILTER_OPERATORS.find((o) => o in c)!;
  const expected = (c as Record<string, unknown>)[op];
  const clause = `${c.field} ${op} ${JSON.stringify(expected)}`;
  const actual = fieldValue(subject, c.field);
  if (actual === undefined) return { clause, result: false, why: `the event has no ${c.field}` };
  const shown = `${c.field} is ${JSON.stringify(actual)}`;
  switch (op) {
    case 'eq':
      return { clause, result: actual === expected, why: shown };
    case 'in':
      return { clause, result: (expected as FilterScalar[]).includes(actual as FilterScalar), why: shown };
    case 'prefix':
      if (typeof actual !== 'string') return { clause, result: false, why: `${shown}, not a string` };
      return { clause, result: actual.startsWith(expected as string), why: shown };
    default: {
      const a = asDecimal(actual);
      if (a === null) return { clause, result: false, why: `${shown}, not a decimal number` };
      const order = compare(a, asDecimal(expected)!);
      const result =
        op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
      return { clause, result, why: shown };
    }
  }
}

/** A decimal string as is, a JSON number by its shortest decimal form; null when neither is exact. */
function asDecimal(v: unknown): string | null {
  if (typeof v === 'string') return isDecimal(v) ? v : null;
  if (typeof v === 'number' && Number.isFinite(v)) {
    const text = String(v);
    return isDecimal(text) ? text : null;
  }
  return null;
}

/** What an event says, as a filter reads it: the same values its webhook body carries. */
export function filterSubject(e: {
  brand?: unknown;
  attribution?: Record<string, unknown> | null;
  data?: Record<string, unknown> | null;
  /** The customer's country as recorded at registration, when known. */
  customerCountry?: unknown;
}): FilterSubject {
  const data = isObject(e.data) ? e.data : {};
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const subIds = e.attribution?.subIds;
  return {
    brand: text(e.brand),
    country: text(data.country) ?? text(e.customerCountry),
    affiliateId: text(e.attribution?.affiliateId),
    subIds: isObject(subIds) ? subIds : {},
    data,
  };
}

/**
 * Whether an endpoint with `filter` gets the event, and the record of why to keep with its delivery. No
 * filter: it gets every event of its types, and there is nothing to record.
 */
export function routeThrough(
  filter: RoutingFilter | null | undefined,
  subject: FilterSubject,
): { deliver: boolean; routing: { filter: RoutingFilter; reasons: ClauseResult[] } | null } {
  if (!filter) return { deliver: true, routing: null };
  const { match, reasons } = evaluateFilter(filter, subject);
  return { deliver: match, routing: { filter, reasons } };
}

/** The targets (endpoints) whose filter lets the event through, each with the record of why. */
export function routeAll<T extends { filter: RoutingFilter | null }>(
  targets: readonly T[],
  subject: FilterSubject,
): { target: T; routing: { filter: RoutingFilter; reasons: ClauseResult[] } | null }[] {
  return targets.flatMap((target) => {
    const { deliver, routing } = routeThrough(target.filter, subject);
    return deliver ? [{ target, routing }] : [];
  });
}
