/**
 * What a tracker's answer to a postback means. Trackers often answer 200 whatever happened, so an endpoint
 * may name a regular expression (`successMatch`) that a successful answer's body must match.
 *
 * - `success`: a 2xx whose body matches `successMatch` (any 2xx when there is none).
 * - `retry`: a 2xx whose body does not match; no answer at all (`statusCode` null: timeout, connection
 *   error); a 3xx (redirects are not followed); 408, 425, 429; any 5xx.
 * - `gone`: 410, which stops the delivery and disables the endpoint, as for webhooks.
 * - `rejected`: any other 4xx. The tracker understood the request and refused it (unknown click, bad
 *   token, duplicate), which the same request cannot fix; the delivery fails now instead of spending its
 *   schedule, and `recover` re-drives it once the endpoint is fixed.
 *
 * A 2xx whose body fails the matcher is retried, not rejected: trackers answer 200 with an error body for
 * transient trouble too (storage down, rate limit), and the two costs are unequal. Retrying a real refusal
 * wastes a few requests before the delivery fails with the body on record; giving up on a transient one
 * loses the affiliate's conversion for good.
 */
export type PostbackVerdict = 'success' | 'gone' | 'retry' | 'rejected';

/**
 * Judge one attempt. `body` is matched as given (the caller may cut it, e.g. to 4 KiB). A matcher that is
 * not a valid regular expression never matches; validatePostbackConfig refuses one when it is saved.
 */
export function judgePostbackResponse(
  statusCode: number | null,
  body: string | null | undefined,
  successMatch?: string | null,
): PostbackVerdict {
  if (statusCode === null) return 'retry';
  if (statusCode >= 200 && statusCode < 300) {
    if (successMatch == null) return 'success';
    return body != null && bodyMatches(body, successMatch) ? 'success' : 'retry';
  }
  if (statusCode === 410) return 'gone';
  if (statusCode >= 400 && statusCode < 500 && ![408, 425, 429].includes(statusCode)) return 'rejected';
  return 'retry';
}

function bodyMatches(body: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(body);
  } catch {
    return false;
  }
}
