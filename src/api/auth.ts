import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AuthFailureThrottle } from './auth-throttle.js';
import { findOperatorByApiKey, type Operator } from '../db/operators.js';
import { findLiveLinkByToken, PORTAL_TOKEN_PREFIX } from '../db/portal-links.js';
import type { Queryable } from '../db/pool.js';
import { errors } from '../errors.js';

function bearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Portal tokens are told from API keys by their prefix alone, without a lookup. */
const isPortalToken = (token: string) => token.startsWith(PORTAL_TOKEN_PREFIX);

const digest = (s: string) => createHash('sha256').update(s).digest();

const addressOf = (req: Request) => req.ip ?? req.socket?.remoteAddress ?? '';

/** The admin token guards operator creation; compared in constant time; wrong tokens are throttled. */
export function requireAdmin(
  adminToken: string,
  throttle: AuthFailureThrottle = new AuthFailureThrottle(),
): RequestHandler {
  const expected = digest(adminToken);
  return (req, _res, next) => {
    const address = addressOf(req);
    const wait = throttle.blockedFor(address);
    if (wait) return next(errors.authThrottled(wait));
    const token = bearer(req.headers.authorization);
    if (!token || !timingSafeEqual(digest(token), expected)) {
      throttle.fail(address);
      return next(errors.adminUnauthorized());
    }
    next();
  };
}

/** How long a verified API key is trusted without asking PostgreSQL again. */
export const API_KEY_CACHE_TTL_MS = 5_000;
/** Verified keys kept at most; the oldest goes first. */
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

export interface ApiKeyCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Clock in milliseconds (tests move it). */
  now?: () => number;
}

/**
 * A short-lived cache of verified API keys, so a busy sender does not cost a PostgreSQL round trip per
 * request.
 *
 * - Keyed by the SHA-256 of the whole presented key (key id and secret), never by the key id alone: a
 *   cached entry is found only by presenting exactly the key that was verified, so a wrong secret for a
 *   known key id, or another operator's key, can never match it. It holds the operator the key resolved
 *   to, nothing else (no key, no stored hash).
 * - Only keys PostgreSQL accepted are cached. A wrong or unknown key is looked up (and compared in constant
 *   time) every time and answered 401; wrong keys cannot fill the cache.
 * - Bounded: at most `maxEntries` keys (the oldest is dropped first); an entry lives `ttlMs` from its
 *   verification and is not extended by use.
 * - Consequence: a key revoked in PostgreSQL (`api_keys.revoked_at` set, or the row deleted) keeps working
 *   in a process that verified it for up to `ttlMs` (5 s by default) after the revocation. Each API process
 *   has its own cache; none outlives that bound.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { operator: Operator; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(o: ApiKeyCacheOptions = {}) {
    this.ttlMs = o.ttlMs ?? API_KEY_CACHE_TTL_MS;
    this.maxEntries = Math.max(1, o.maxEntries ?? API_KEY_CACHE_MAX_ENTRIES);
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The operator of a key this process verified and still trusts; never asks PostgreSQL. */
  peek(apiKey: string): Operator | null {
    const hit = this.entries.get(createHash('sha256').update(apiKey).digest('base64'));
    return hit && hit.expiresAt > this.now() ? hit.operator : null;
  }

  /** The operator a key resolves to: from the cache while fresh, else from PostgreSQL; null if invalid. */
  async resolve(db: Queryable, apiKey: string): Promise<Operator | null> {
    const key = createHash('sha256').update(apiKey).digest('base64');
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expiresAt > this.now()) return hit.operator;
      this.entries.delete(key);
    }
    const verifiedAt = this.now();
    const found = await findOperatorByApiKey(db, apiKey);
    if (!found || this.ttlMs <= 0) return found;
    // Shared by every request presenting this key until it expires: no handler may change it.
    const operator = Object.freeze({ ...found });
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    // Counted from before the lookup: a revocation committed while it ran is honoured within ttlMs too.
    this.entries.set(key, { operator, expiresAt: verifiedAt + this.ttlMs });
    return operator;
  }
}

/**
 * Resolves the operator from its API key into `res.locals.operator`; 401 otherwise. Verified keys are
 * cached briefly (see ApiKeyCache): a revoked key stops working within the cache's TTL, 5 s by default.
 */
export function requireOperator(
  db: Queryable,
  cache: ApiKeyCache = new ApiKeyCache(),
  throttle: AuthFailureThrottle = new AuthFailureThrottle(),
): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req.headers.authorization);
    if (!token) return next(errors.unauthorized());
    if (isPortalToken(token)) return next(errors.portalTokenRefused());
    const address = addressOf(req);
    let operator = cache.peek(token);
    if (!operator) {
      const wait = throttle.blockedFor(address);
      if (wait) return next(errors.authThrottled(wait));
      operator = await cache.resolve(db, token);
    }
    if (!operator) {
      throttle.fail(address);
      return next(errors.unauthorized());
    }
    res.locals.operator = operator;
    next();
  };
}

/**
 * Where a portal token may go: the app's first gate, before every router (operator, admin, inbound, and the
 * unauthenticated ones). A request bearing a portal token outside /v1/portal is refused with 403, whatever
 * the route, so a route added later is closed to portal tokens without anyone remembering to close it.
 */
export function confinePortalTokens(): RequestHandler {
  return (req, _res, next) => {
    const token = bearer(req.headers.authorization);
    if (token && isPortalToken(token) && !req.path.startsWith('/v1/portal/')) {
      return next(errors.portalTokenRefused());
    }
    next();
  };
}

/**
 * Resolves a portal token into `res.locals.portal` (its link: operator, affiliate, scope); 401 otherwise,
 * an API key included. Never cached: a revoked or expired link is refused from the next request on.
 */
export function requirePortal(
  db: Queryable,
  throttle: AuthFailureThrottle = new AuthFailureThrottle(),
): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req.headers.authorization);
    if (!token) return next(errors.portalUnauthorized());
    const address = addressOf(req);
    const wait = throttle.blockedFor(address);
    if (wait) return next(errors.authThrottled(wait));
    const link = isPortalToken(token) ? await findLiveLinkByToken(db, token) : null;
    if (!link) {
      throttle.fail(address);
      return next(errors.portalUnauthorized());
    }
    res.locals.portal = link;
    next();
  };
}
