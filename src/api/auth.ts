import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { findOperatorByApiKey } from '../db/operators.js';
import type { Queryable } from '../db/pool.js';
import { errors } from './errors.js';

function bearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The admin token guards operator creation; compared in constant time. */
export function requireAdmin(adminToken: string): RequestHandler {
  const expected = digest(adminToken);
  return (req, _res, next) => {
    const token = bearer(req.headers.authorization);
    if (!token || !timingSafeEqual(digest(token), expected)) return next(errors.unauthorized());
    next();
  };
}

/** Resolves the operator from its API key into `res.locals.operator`; 401 otherwise. */
export function requireOperator(db: Queryable): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req.headers.authorization);
    if (!token) return next(errors.unauthorized());
    const operator = await findOperatorByApiKey(db, token);
    if (!operator) return next(errors.unauthorized());
    res.locals.operator = operator;
    next();
  };
}
