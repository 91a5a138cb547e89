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

/**
 * Why a success matcher could stall the worker that runs it, or null. JavaScript's regular expressions
 * backtrack, and a tenant's pattern runs on a shared worker against up to 4 KiB of body, so patterns whose
 * matching time can explode are refused when saved: a repeated group that itself repeats (`(a+)+`,
 * `(\w*x?)*`), and back-references. A guard against the classic catastrophic shapes, not a proof.
 */
export function matcherRisk(pattern: string): string | null {
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not accepted';
  const outer: boolean[] = [];
  let quantified = false; // the current group holds a quantifier
  let atomIsRiskyGroup = false; // the atom just read is a group holding a quantifier
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      atomIsRiskyGroup = false;
    } else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      atomIsRiskyGroup = false;
    } else if (c === '(') {
      outer.push(quantified);
      quantified = false;
      atomIsRiskyGroup = false;
      if (pattern[i + 1] === '?') {
        const prefix = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i + 1));
        i += prefix ? prefix[0].length : 1;
      }
    } else if (c === ')') {
      const inner: boolean = quantified;
      quantified = (outer.pop() ?? false) || inner;
      atomIsRiskyGroup = inner;
    } else {
      const q = /^(?:[*+?]|\{\d+(?:,\d*)?\})/.exec(pattern.slice(i))?.[0];
      if (q) {
        const bounds = /^\{(\d+)(,(\d*))?\}$/.exec(q);
        const max = bounds
          ? bounds[2] === undefined
            ? Number(bounds[1])
            : bounds[3]
              ? Number(bounds[3])
              : Infinity
          : q === '?'
            ? 1
            : Infinity;
        if (atomIsRiskyGroup && max > 1) {
          return 'a repeated group that itself repeats (such as (a+)+) can take exponential time';
        }
        quantified = true;
        i += q.length - 1;
        if (pattern[i + 1] === '?') i++; // lazy
      }
      atomIsRiskyGroup = false;
    }
  }
  return null;
}
