import { renderTemplate, type MacroName } from './macros.js';
import type { ResolvedPostbackConfig } from './presets.js';
import { isReversal, postbackValues, type PostbackValuesInput } from './values.js';

/** One postback attempt, ready for the HTTP client. */
export interface PostbackRequest {
  method: 'GET' | 'POST';
  url: string;
  /** POST only. */
  body: string | null;
  /** `application/x-www-form-urlencoded` or `application/json` with a body; null without one. */
  contentType: string | null;
  /** Macros rendered empty for want of a value, URL first, then body: for the attempt log. */
  missing: MacroName[];
}

/**
 * Render the postback for one event: the values from `input`, the reversal URL for a rejection or reversal
 * when the config has one, the URL with `url` encoding, and a POST body with the config's encoding.
 */
export function buildPostbackRequest(
  config: ResolvedPostbackConfig,
  input: PostbackValuesInput,
): PostbackRequest {
  const values = postbackValues(input, config);
  const urlTemplate = (isReversal(input.status) && config.reversalTemplate) || config.template;
  const url = renderTemplate(urlTemplate, values, 'url');
  const body = config.body ? renderTemplate(config.body.template, values, config.body.encoding) : null;
  const missing = [...url.missing];
  for (const name of body?.missing ?? []) if (!missing.includes(name)) missing.push(name);
  return {
    method: config.method,
    url: url.text,
    body: body?.text ?? null,
    contentType: config.body
      ? config.body.encoding === 'json'
        ? 'application/json'
        : 'application/x-www-form-urlencoded'
      : null,
    missing,
  };
}
