/**
 * Postback templates: the macro catalogue, the parser that checks a template when an endpoint is saved, and
 * the renderer that fills one in for an attempt. Pure and workflow-safe.
 *
 * Syntax: `{name}` inserts the value encoded for where it lands; `{_name}` inserts it raw. There is no escape
 * for a literal brace: no brace may ever reach a tracker (an unreplaced `{subid}` is the classic postback
 * bug), so a template that would send one is refused, and braces are stripped from every value.
 */

/** Every macro a template may use, with what it carries. */
export const MACROS = {
  click_id: 'The tracker’s click id, from the customer’s attribution',
  sub1: 'Sub id 1 from the attribution',
  sub2: 'Sub id 2 from the attribution',
  sub3: 'Sub id 3 from the attribution',
  sub4: 'Sub id 4 from the attribution',
  sub5: 'Sub id 5 from the attribution',
  sub6: 'Sub id 6 from the attribution',
  sub7: 'Sub id 7 from the attribution',
  sub8: 'Sub id 8 from the attribution',
  sub9: 'Sub id 9 from the attribution',
  sub10: 'Sub id 10 from the attribution',
  affiliate_id: 'The affiliate the customer is attributed to',
  customer_id: 'The operator’s customer id (opaque)',
  event: 'The conversion’s event type, e.g. deposit.ftd; for a reversal, the type of the conversion undone',
  event_id: 'This postback’s own transaction id, unique per postback (a reversal has its own)',
  original_event_id: 'For a rejection or reversal, the event id of the conversion undone; empty otherwise',
  conversion_id:
    'The id of the conversion this postback is about: event_id for a conversion, original_event_id for a reversal',
  status: 'Our commission status (pending, approved, rejected, reversed) through the endpoint’s status map',
  payout: 'The commission as a decimal string; negative on a reversal when the preset asks for it',
  currency: 'The currency of the payout (ISO 4217)',
  amount: 'The event’s own money (deposit, price, refund) as a decimal string',
  amount_currency: 'The currency of the amount (ISO 4217)',
  country: 'The customer’s country',
  timestamp: 'When the event occurred, in unix seconds',
  lots: 'Traded volume in lots (Forex), a decimal string',
  instrument: 'The traded instrument (Forex), e.g. XAUUSD',
  challenge_id: 'The challenge (prop trading)',
  phase: 'The challenge phase (prop trading)',
} as const satisfies Record<string, string>;

export type MacroName = keyof typeof MACROS;

export const MACRO_NAMES = Object.freeze(Object.keys(MACROS)) as readonly MacroName[];

/** Values to fill in; a name that is absent, or empty once braces are stripped, counts as missing. */
export type MacroValues = Partial<Record<MacroName, string>>;

export function isMacroName(name: string): name is MacroName {
  return Object.prototype.hasOwnProperty.call(MACROS, name);
}

/**
 * `text`: a URL or a form body, where every brace is a macro delimiter. `json`: JSON text whose braces
 * outside string literals are structure, with macros allowed only inside string literals.
 */
export type TemplateSyntax = 'text' | 'json';

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'macro'; name: MacroName; raw: boolean };

/** A template that parsed: plain data, safe to pass as workflow input. */
export interface ParsedTemplate {
  ok: true;
  syntax: TemplateSyntax;
  parts: TemplatePart[];
}

export type ParseTemplateResult = ParsedTemplate | { ok: false; errors: string[] };

/**
 * Parse a template, reporting every problem at once: unknown macros, an empty `{}`, unbalanced or nested
 * braces, and literal braces (`{{` and `}}` are not escapes). Positions in messages are 0-based offsets.
 * With `json` syntax the template must also be valid JSON once its macros are filled in, and may not spell a
 * brace as `\u007b`/`\u007d` inside a string either.
 */
export function parseTemplate(template: string, syntax: TemplateSyntax = 'text'): ParseTemplateResult {
  const errors: string[] = [];
  const parts: TemplatePart[] = [];
  let text = '';
  const flushText = () => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };

  // Reads a macro whose `{` is at `start`; returns the index to resume from. `stop` ends the macro early
  // (in JSON syntax, the closing quote of the string it sits in).
  const readMacro = (start: number, stop: string | null): number => {
    let j = start + 1;
    while (j < template.length) {
      const c = template[j];
      if (c === '{' || c === '}' || c === stop) break;
      j++;
    }
    const c = template[j];
    if (c === undefined || c === stop) {
      errors.push(`unclosed '{' at position ${start}`);
      return j;
    }
    if (c === '{') {
      errors.push(
        j === start + 1
          ? `'{{' at position ${start}: a literal brace is never sent, and '{{' is not an escape`
          : `nested '{' at position ${j} inside the macro opened at position ${start}`,
      );
      return j;
    }
    const name = template.slice(start + 1, j);
    const raw = name.startsWith('_');
    const base = raw ? name.slice(1) : name;
    if (base === '') errors.push(`empty macro '{${name}}' at position ${start}`);
    else if (!isMacroName(base)) errors.push(`unknown macro '{${name}}' at position ${start}`);
    else {
      flushText();
      parts.push({ kind: 'macro', name: base, raw });
    }
    return j + 1;
  };

  const strayClose = (i: number) =>
    template[i + 1] === '}'
      ? `'}}' at position ${i}: a literal brace is never sent, and '}}' is not an escape`
      : `unmatched '}' at position ${i}`;

  let i = 0;
  let inString = false;
  while (i < template.length) {
    const c = template[i] as string;
    if (syntax === 'json' && !inString) {
      // Outside JSON strings braces are structure, passed through as they are.
      if (c === '"') inString = true;
      text += c;
      i++;
      continue;
    }
    if (syntax === 'json' && c === '\\') {
      const escape = template.slice(i, i + 6);
      if (/^\\u007[bd]$/i.test(escape)) errors.push(`escaped brace '${escape}' at position ${i}`);
      // Copy the escape whole, so an escaped quote does not end the string.
      text += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (syntax === 'json' && c === '"') {
      inString = false;
      text += c;
      i++;
      continue;
    }
    if (c === '{') {
      i = readMacro(i, syntax === 'json' ? '"' : null);
      continue;
    }
    if (c === '}') {
      errors.push(strayClose(i));
      i += template[i + 1] === '}' ? 2 : 1;
      continue;
    }
    text += c;
    i++;
  }
  flushText();

  if (errors.length === 0 && syntax === 'json') {
    const probe = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    try {
      JSON.parse(probe);
    } catch (e) {
      errors.push(
        `not valid JSON with its macros filled in (macros belong inside string literals): ${(e as Error).message}`,
      );
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, syntax, parts };
}

/**
 * How values are written into the text: `url` percent-encodes like encodeURIComponent (space as `%20`),
 * for URL templates; `form` encodes as application/x-www-form-urlencoded does (space as `+`, and
 * `!'()~` escaped too), for form bodies; `json` escapes values as JSON string content, for JSON bodies;
 * `raw` inserts every value as it is.
 */
export type TemplateEncoding = 'url' | 'form' | 'json' | 'raw';

export interface RenderedTemplate {
  text: string;
  /** Macros the template uses that had no value and were rendered empty, in order of first use. */
  missing: MacroName[];
}

/**
 * Fill in a parsed template. A macro without a value renders empty and is listed in `missing`, for the
 * attempt log. Braces are stripped from every value, so none can be sent, neither literal nor encoded.
 * `{_name}` inserts the value without encoding, except in `json`, where escaping is what keeps the body
 * JSON, so raw and encoded are the same there.
 *
 * `json` encoding goes with `json` syntax and only with it; mixing them, or a JSON result that does not
 * parse, is a programming error and throws.
 */
export function renderTemplate(
  parsed: ParsedTemplate,
  values: MacroValues,
  encoding: TemplateEncoding,
): RenderedTemplate {
  if ((parsed.syntax === 'json') !== (encoding === 'json')) {
    throw new TypeError(`a ${parsed.syntax}-syntax template cannot be rendered with ${encoding} encoding`);
  }
  const missing: MacroName[] = [];
  let text = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      text += part.text;
      continue;
    }
    const value = wellFormed(stripBraces(values[part.name] ?? ''));
    if (value === '') {
      if (!missing.includes(part.name)) missing.push(part.name);
      continue;
    }
    text += encodeValue(value, part.raw ? (encoding === 'json' ? 'json' : 'raw') : encoding);
  }
  if (encoding === 'json') JSON.parse(text); // cannot fail for a template that parsed; throws if it does
  return { text, missing };
}

function encodeValue(value: string, encoding: TemplateEncoding): string {
  switch (encoding) {
    case 'url':
      return encodeURIComponent(value);
    case 'form':
      return encodeURIComponent(value)
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+');
    case 'json':
      return JSON.stringify(value).slice(1, -1);
    case 'raw':
      return value;
  }
}

function stripBraces(value: string): string {
  return value.replace(/[{}]/g, '');
}

/** Lone surrogates become U+FFFD: encodeURIComponent throws on them, and no tracker wants them. */
function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
