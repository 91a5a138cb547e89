import { parseTemplate, type ParsedTemplate } from './macros.js';
import { matcherRisk } from './success.js';
import { isPostbackStatus, type PostbackStatus, type StatusMap } from './values.js';

/**
 * Named presets for the common trackers, and the merge of a preset with an endpoint's own `postback`
 * settings (docs/api-v1.md section 4). Explicit settings win; a status map merges key by key.
 *
 * Two reversal styles exist. Trackers that update a conversion's status (Keitaro, Binom, Affise, RedTrack)
 * get the original conversion again, `{conversion_id}` naming it, with the mapped status and the positive
 * payout. Voluum cannot update a conversion, so a reversal is a new transaction (`txid={event_id}`, the
 * reversal's own id) with a negative payout, which nets the original out. Everflow takes reversals at a path
 * of its own, `/reversal`, keyed by the `order_id` we gave the conversion.
 */

export const PRESET_NAMES = ['keitaro', 'voluum', 'everflow', 'binom', 'affise', 'redtrack'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** A tracker query parameter and the template text of its value. */
type QueryPair = readonly [param: string, value: string];

export interface PostbackPreset {
  method: 'GET' | 'POST';
  /** Appended to the endpoint's `url` to make the default template. */
  query: readonly QueryPair[];
  /**
   * For trackers that take rejections and reversals at another path: that path replaces the url's path, the
   * url's own query is kept, and `query` is appended. Used only while the preset's template is.
   */
  reversal: { path: string; query: readonly QueryPair[] } | null;
  statusMap: Required<StatusMap>;
  /** A rejection or reversal is sent with a negative payout. */
  negativePayoutOnReversal: boolean;
  /** None of these trackers documents a success body to rely on, so none ships a matcher. */
  successMatch: string | null;
}

export const POSTBACK_PRESETS: Readonly<Record<PresetName, PostbackPreset>> = {
  keitaro: {
    method: 'GET',
    query: [
      ['subid', '{click_id}'],
      ['status', '{status}'],
      ['payout', '{payout}'],
      ['currency', '{currency}'],
      ['tid', '{conversion_id}'],
    ],
    reversal: null,
    statusMap: { pending: 'lead', approved: 'sale', rejected: 'rejected', reversed: 'rejected' },
    negativePayoutOnReversal: false,
    successMatch: null,
  },
  voluum: {
    method: 'GET',
    query: [
      ['cid', '{click_id}'],
      ['payout', '{payout}'],
      ['currency', '{currency}'],
      ['txid', '{event_id}'],
      ['et', '{event}'],
    ],
    reversal: null,
    // Voluum has no conversion status; the map matters only to a template that adds {status}.
    statusMap: { pending: 'pending', approved: 'approved', rejected: 'rejected', reversed: 'reversed' },
    negativePayoutOnReversal: true,
    successMatch: null,
  },
  everflow: {
    method: 'GET',
    query: [
      ['transaction_id', '{click_id}'],
      ['amount', '{amount}'],
      ['order_id', '{conversion_id}'],
    ],
    // order_id is unique per conversion we send, so this reverses exactly one conversion.
    reversal: { path: '/reversal', query: [['order_id', '{conversion_id}']] },
    statusMap: { pending: 'pending', approved: 'approved', rejected: 'rejected', reversed: 'rejected' },
    negativePayoutOnReversal: false,
    successMatch: null,
  },
  binom: {
    method: 'GET',
    query: [
      ['cnv_id', '{click_id}'],
      ['payout', '{payout}'],
      ['cnv_currency', '{currency}'],
      ['cnv_status', '{status}'],
    ],
    reversal: null,
    statusMap: { pending: 'pending', approved: 'approved', rejected: 'rejected', reversed: 'rejected' },
    negativePayoutOnReversal: false,
    successMatch: null,
  },
  affise: {
    method: 'GET',
    query: [
      ['clickid', '{click_id}'],
      ['action_id', '{conversion_id}'],
      ['sum', '{payout}'],
      ['status', '{status}'],
    ],
    reversal: null,
    statusMap: { pending: '2', approved: '1', rejected: '3', reversed: '3' },
    negativePayoutOnReversal: false,
    successMatch: null,
  },
  redtrack: {
    method: 'GET',
    query: [
      ['clickid', '{click_id}'],
      ['sum', '{payout}'],
      ['currency', '{currency}'],
      ['type', '{event}'],
      ['status', '{status}'],
    ],
    reversal: null,
    statusMap: { pending: 'pending', approved: 'approved', rejected: 'declined', reversed: 'declined' },
    negativePayoutOnReversal: false,
    successMatch: null,
  },
};

/** The preset's default template: the endpoint url with the tracker's query appended (a fragment dropped). */
export function presetTemplate(preset: PresetName, endpointUrl: string): string {
  return appendQuery(endpointUrl, POSTBACK_PRESETS[preset].query);
}

/** The preset's reversal template, or null when its trackers take reversals at the same URL. */
export function presetReversalTemplate(preset: PresetName, endpointUrl: string): string | null {
  const reversal = POSTBACK_PRESETS[preset].reversal;
  if (!reversal) return null;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)[^?#]*(\?[^#]*)?/.exec(endpointUrl);
  const base = m ? `${m[1]}${reversal.path}${m[2] ?? ''}` : endpointUrl;
  return appendQuery(base, reversal.query);
}

function appendQuery(url: string, pairs: readonly QueryPair[]): string {
  const base = url.split('#')[0] ?? '';
  const query = pairs.map(([param, value]) => `${param}=${value}`).join('&');
  if (!base.includes('?')) return `${base}?${query}`;
  return base.endsWith('?') || base.endsWith('&') ? `${base}${query}` : `${base}&${query}`;
}

/** An endpoint's `postback` object as saved; loosely typed so that every problem can be named. */
export interface PostbackSettings {
  preset?: string | null;
  method?: string | null;
  template?: string | null;
  bodyTemplate?: string | null;
  bodyEncoding?: string | null;
  statusMap?: Record<string, string> | null;
  successMatch?: string | null;
  /** The URL for rejections and reversals; replaces the preset's own reversal URL when it has one. */
  reversalTemplate?: string | null;
  /** Overrides the preset's choice (false without a preset). */
  negativePayoutOnReversal?: boolean | null;
}

/** A preset merged with explicit settings, every template parsed: plain data for a workflow's input. */
export interface ResolvedPostbackConfig {
  preset: PresetName | null;
  method: 'GET' | 'POST';
  /** The URL template, rendered with `url` encoding. */
  template: ParsedTemplate;
  /**
   * The URL for rejections and reversals: the endpoint's `reversalTemplate`, else the preset's when it has one
   * and its template is in use; null when reversals go to `template`.
   */
  reversalTemplate: ParsedTemplate | null;
  /** POST only. */
  body: { template: ParsedTemplate; encoding: 'form' | 'json' } | null;
  statusMap: StatusMap;
  negativePayoutOnReversal: boolean;
  successMatch: string | null;
}

export type ResolvePostbackResult =
  { ok: true; config: ResolvedPostbackConfig } | { ok: false; errors: string[] };

/**
 * Merge the endpoint's `postback` settings over its preset: an explicit `template`, `method` or
 * `successMatch` replaces the preset's, and explicit `statusMap` entries replace the preset's entry by entry.
 * An explicit template also drops the preset's reversal URL, so the endpoint gets exactly the template it
 * wrote, for every status, unless it also writes a `reversalTemplate`, which wins over the preset's in any
 * case. Without a preset, reversals keep a positive payout unless `negativePayoutOnReversal` says otherwise.
 * Every problem is reported, each message starting with the path of the field at fault.
 */
export function resolvePostbackConfig(
  endpointUrl: string,
  postback: PostbackSettings,
): ResolvePostbackResult {
  const errors: string[] = [];

  let preset: PresetName | null = null;
  if (postback.preset != null) {
    if (isPresetName(postback.preset)) preset = postback.preset;
    else {
      errors.push(
        `postback.preset: unknown preset '${postback.preset}'; known presets: ${PRESET_NAMES.join(', ')}`,
      );
    }
  }
  const defaults = preset ? POSTBACK_PRESETS[preset] : null;

  let method: 'GET' | 'POST' = defaults?.method ?? 'GET';
  if (postback.method != null) {
    if (postback.method === 'GET' || postback.method === 'POST') method = postback.method;
    else errors.push(`postback.method: must be GET or POST, not '${postback.method}'`);
  }

  let template: ParsedTemplate | null = null;
  let reversalTemplate: ParsedTemplate | null = null;
  if (postback.template != null) {
    if (postback.template === '') errors.push('postback.template: must not be empty');
    else template = checkUrlTemplate(postback.template, 'postback.template', errors);
  } else if (preset) {
    const at = `url (the ${preset} preset builds its template from it)`;
    template = checkUrlTemplate(presetTemplate(preset, endpointUrl), at, errors);
    const reversal = presetReversalTemplate(preset, endpointUrl);
    if (reversal !== null) reversalTemplate = checkUrlTemplate(reversal, at, errors);
  } else if (postback.preset == null) {
    errors.push('postback.template: required unless a preset supplies one');
  }
  if (postback.reversalTemplate != null) {
    if (postback.reversalTemplate === '') errors.push('postback.reversalTemplate: must not be empty');
    else reversalTemplate = checkUrlTemplate(postback.reversalTemplate, 'postback.reversalTemplate', errors);
  }

  let negativePayoutOnReversal = defaults?.negativePayoutOnReversal ?? false;
  if (postback.negativePayoutOnReversal != null) {
    if (typeof postback.negativePayoutOnReversal === 'boolean') {
      negativePayoutOnReversal = postback.negativePayoutOnReversal;
    } else errors.push('postback.negativePayoutOnReversal: must be true or false');
  }

  let body: ResolvedPostbackConfig['body'] = null;
  if (method === 'POST') {
    const encoding = postback.bodyEncoding;
    if (encoding == null) errors.push('postback.bodyEncoding: required with POST: form or json');
    else if (encoding !== 'form' && encoding !== 'json') {
      errors.push(`postback.bodyEncoding: must be form or json, not '${encoding}'`);
    }
    if (postback.bodyTemplate == null || postback.bodyTemplate === '') {
      errors.push('postback.bodyTemplate: required with POST');
    } else if (encoding === 'form' || encoding === 'json') {
      const parsed = parseTemplate(postback.bodyTemplate, encoding === 'json' ? 'json' : 'text');
      if (parsed.ok) body = { template: parsed, encoding };
      else errors.push(...parsed.errors.map((e) => `postback.bodyTemplate: ${e}`));
    }
  } else {
    if (postback.bodyTemplate != null) errors.push('postback.bodyTemplate: sent only with method POST');
    if (postback.bodyEncoding != null) errors.push('postback.bodyEncoding: sent only with method POST');
  }

  const statusMap: StatusMap = { ...defaults?.statusMap };
  for (const [key, value] of Object.entries(postback.statusMap ?? {})) {
    if (!isPostbackStatus(key)) {
      errors.push(
        `postback.statusMap: unknown status '${key}'; statuses are pending, approved, rejected, reversed`,
      );
    } else if (typeof value !== 'string' || value === '') {
      errors.push(`postback.statusMap.${key}: must be a non-empty string`);
    } else if (/[{}]/.test(value)) {
      errors.push(`postback.statusMap.${key}: must not contain a brace`);
    } else statusMap[key as PostbackStatus] = value;
  }

  const successMatch = postback.successMatch ?? defaults?.successMatch ?? null;
  if (postback.successMatch != null) {
    if (postback.successMatch === '') errors.push('postback.successMatch: must not be empty');
    else {
      let risk: string | null = null;
      try {
        new RegExp(postback.successMatch);
        risk = matcherRisk(postback.successMatch);
      } catch (e) {
        errors.push(`postback.successMatch: not a valid regular expression: ${(e as Error).message}`);
      }
      if (risk !== null) errors.push(`postback.successMatch: ${risk}`);
    }
  }

  if (errors.length > 0 || template === null) return { ok: false, errors };
  return {
    ok: true,
    config: {
      preset,
      method,
      template,
      reversalTemplate,
      body,
      statusMap,
      negativePayoutOnReversal,
      successMatch,
    },
  };
}

/** Every problem with an endpoint's `postback` settings, for a `422`; empty when they are valid. */
export function validatePostbackConfig(endpointUrl: string, postback: PostbackSettings): string[] {
  const result = resolvePostbackConfig(endpointUrl, postback);
  return result.ok ? [] : result.errors;
}

/** Parses a URL template and checks it is an absolute http(s) URL whose scheme and host are literal. */
function checkUrlTemplate(template: string, at: string, errors: string[]): ParsedTemplate | null {
  const found: string[] = [];
  const parsed = parseTemplate(template, 'text');
  if (!parsed.ok) found.push(...parsed.errors);
  const scheme = /^https?:\/\//i.exec(template);
  if (!scheme) found.push('must be an absolute http:// or https:// URL');
  else {
    const authority = /^[^/?#]*/.exec(template.slice(scheme[0].length))?.[0] ?? '';
    if (authority === '') found.push('has no host');
    else if (/[{}]/.test(authority))
      found.push('the host must be literal: macros belong in the path and query');
  }
  if (/\s/.test(template)) found.push('must not contain whitespace; write a space as %20');
  errors.push(...found.map((e) => `${at}: ${e}`));
  return parsed.ok && found.length === 0 ? parsed : null;
}
