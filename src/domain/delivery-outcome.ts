/**
 * What an attempt's answer means (docs/api-v1.md section 5): 2xx is success; 410 stops the delivery and disables
 * the endpoint; anything else, a 3xx, a timeout or a connection error, is retried by the policy.
 * `Retry-After` counts only on 429 and 503.
 */
export type AttemptVerdict = 'success' | 'gone' | 'retry';

export function judgeAttempt(statusCode: number | null): AttemptVerdict {
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return 'success';
  if (statusCode === 410) return 'gone';
  return 'retry';
}

export function honoursRetryAfter(statusCode: number | null): boolean {
  return statusCode === 429 || statusCode === 503;
}
