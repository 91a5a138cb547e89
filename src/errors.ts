import type { z } from 'zod';

/**
 * Errors a use case raises and the API answers with (src/api/app.ts turns an AppError into its HTTP answer).
 * At the bottom layer, so src/ingest and below use them without importing src/api.
 */

export interface ErrorDetail {
  path: string;
  message: string;
}

/** The one error family the API answers with: a stable code, an HTTP status, a human message. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON() {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

/** A 429: the answer carries `Retry-After` (seconds) besides the error body. */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, 'rate_limited', message);
  }
}

/**
 * One detail per path, the first: the checks after it at the same path (`abc` is not a decimal, so it is not
 * "greater than zero" either; a percent out of range fails the schema and the deal rules alike) only repeat
 * it in other words.
 */
function onePerPath(details: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return details.filter((d) => !seen.has(d.path) && seen.add(d.path));
}

export const errors = {
  intakeLimited: (limit: { perSecond: number; burst: number }, retryAfterSeconds: number) =>
    new RateLimitedError(
      `This operator's intake limit (${limit.perSecond} events/s, bursts of ${limit.burst}) is spent for now; ` +
        `nothing was recorded. Retry after ${retryAfterSeconds} s with the same body.`,
      retryAfterSeconds,
    ),
  authThrottled: (retryAfterSeconds: number) =>
    new RateLimitedError(
      `Too many failed authentications from this address; retry after ${retryAfterSeconds} s with a valid key.`,
      retryAfterSeconds,
    ),
  overBurst: (events: number, burst: number) =>
    new AppError(422, 'validation_failed', 'The batch is larger than this operator may send at once.', [
      {
        path: 'events',
        message: `${events} events exceed the intake burst of ${burst}: send at most ${burst} per request`,
      },
    ]),
  invalidJson: (message: string) =>
    new AppError(400, 'invalid_json', `The body is not valid JSON: ${message}`),
  unauthorized: () =>
    new AppError(401, 'unauthorized', 'A valid API key is required: Authorization: Bearer <key>.'),
  adminUnauthorized: () =>
    new AppError(
      401,
      'unauthorized',
      'This route takes the admin token (the ADMIN_TOKEN setting), not an API key: Authorization: Bearer <ADMIN_TOKEN>.',
    ),
  portalTokenRefused: () =>
    new AppError(
      403,
      'portal_token_refused',
      'A portal token opens only the read-only /v1/portal routes; this route takes an operator API key.',
    ),
  portalUnauthorized: () =>
    new AppError(
      401,
      'unauthorized',
      'A valid portal token that has not expired or been revoked is required: Authorization: Bearer <portal token>.',
    ),
  portalScopeMissing: (scope: string) =>
    new AppError(403, 'portal_scope_missing', `This portal link's scope does not include "${scope}".`),
  notFound: (what: string) => new AppError(404, 'not_found', `${what} not found.`),
  routeNotFound: (method: string, path: string) =>
    new AppError(404, 'route_not_found', `No route ${method} ${path}.`),
  eventConflict: (id: string) =>
    new AppError(
      409,
      'event_conflict',
      `Event ${id} was already submitted with a different body; event ids are idempotency keys.`,
    ),
  endpointDisabled: (id: string) =>
    new AppError(
      409,
      'endpoint_disabled',
      `Endpoint ${id} is disabled: enable it (PATCH {"enabled": true}) before replaying to it.`,
    ),
  payloadTooLarge: (limit: number) =>
    new AppError(413, 'payload_too_large', `The body is larger than the limit of ${limit} bytes.`),
  tooDeep: (limit: number, path: (string | number)[]) =>
    new AppError(
      422,
      'validation_failed',
      `The body nests arrays and objects deeper than ${limit} levels (the body itself is level 1).`,
      [{ path: path.map(String).join('.'), message: `nested deeper than the limit of ${limit} levels` }],
    ),
  unsupportedMediaType: (type: string | undefined) =>
    new AppError(
      415,
      'unsupported_media_type',
      `Send JSON with Content-Type: application/json${type ? ` (got ${type})` : ''}.`,
    ),
  validation: (issues: z.core.$ZodIssue[]) =>
    new AppError(
      422,
      'validation_failed',
      'The request does not match the schema.',
      onePerPath(
        issues.flatMap((i) =>
          // One detail per unknown key, at its own path, so a client can point at the misspelt field.
          i.code === 'unrecognized_keys'
            ? i.keys.map((key) => ({
                path: [...i.path, key].map(String).join('.'),
                message: `unknown field "${String(key)}"`,
              }))
            : [{ path: i.path.map(String).join('.'), message: i.message }],
        ),
      ),
    ),
  unavailable: (what: 'temporal' | 'database') =>
    new AppError(
      503,
      'service_unavailable',
      what === 'temporal'
        ? 'The workflow engine is unreachable; nothing was acknowledged. Retry with the same body.'
        : 'The database is unreachable; nothing was recorded. Retry with the same body.',
    ),
};
