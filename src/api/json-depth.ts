import { errors } from '../errors.js';

/**
 * The deepest a JSON body may nest arrays and objects, the body itself being level 1 (so an event's
 * `data` holds 62 more levels; a batch item's, 60). Far beyond any real payload, and far below what the
 * recursive walks after parsing (the NUL check, the canonical body hash, zod, the inbound mapping,
 * PostgreSQL's jsonb) can take without exhausting a stack.
 */
export const MAX_JSON_DEPTH = 64;

interface Level {
  array: boolean;
  /** The key or index of the child being read. */
  at: string | number;
  /** In an object, after `{` or `,`: the next string is a key. */
  expectKey: boolean;
}

/**
 * Where JSON text first nests deeper than `max` levels: the path of the first array or object opened
 * beyond the limit, or null if none is. One pass, no recursion, so any depth is safe to scan; strings
 * (with their escaped quotes and backslashes) are skipped, so brackets inside them do not count. Meant
 * for text that parses as JSON; on anything else it still terminates.
 */
export function jsonDepthExcess(text: string, max = MAX_JSON_DEPTH): { path: (string | number)[] } | null {
  const levels: Level[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) {
        if (text.charCodeAt(i) === BACKSLASH) i++;
      }
      const top = levels.at(-1);
      if (top && !top.array && top.expectKey) {
        top.at = keyOf(text.slice(start, i + 1));
        top.expectKey = false;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (levels.length >= max) return { path: levels.map((l) => l.at) };
      levels.push({ array: c === OPEN_ARRAY, at: c === OPEN_ARRAY ? 0 : '', expectKey: c === OPEN_OBJECT });
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      levels.pop();
    } else if (c === COMMA) {
      const top = levels.at(-1);
      if (top?.array) top.at = (top.at as number) + 1;
      else if (top) top.expectKey = true;
    }
  }
  return null;
}

/**
 * Parses a request body: malformed JSON is `400 invalid_json`, JSON nested deeper than MAX_JSON_DEPTH is
 * `422` at the path where it crosses the limit. Every JSON route parses through this, so nothing after it
 * (all of which may recurse) ever sees a deeper value.
 */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    // V8's JSON.parse does not recurse on the stack: any depth parses (or fails) safely.
    value = JSON.parse(text);
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
  const excess = jsonDepthExcess(text);
  if (excess) throw errors.tooDeep(MAX_JSON_DEPTH, excess.path);
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function keyOf(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}
