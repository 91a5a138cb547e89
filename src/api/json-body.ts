import express, { type RequestHandler } from 'express';
import { errors } from '../errors.js';
import { parseJsonBody } from './json-depth.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * JSON bodies per docs/api-v1.md section 1: a non-JSON content type is 415, a body over the limit 413,
 * malformed JSON 400, and JSON nested deeper than MAX_JSON_DEPTH 422. A request with no body at all passes through with `req.body` undefined.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const precheck: RequestHandler = (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      req.body = undefined;
      return next();
    }
    const type = req.headers['content-type'];
    if (!type || !JSON_TYPE.test(type)) return next(errors.unsupportedMediaType(type));
    if (length !== undefined && Number(length) > limitBytes) return next(errors.payloadTooLarge(limitBytes));
    next();
  };
  const raw = express.raw({ type: () => true, limit: limitBytes });
  const parse: RequestHandler = (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) return next();
    if (req.body.length === 0) {
      req.body = undefined; // no body at all: the route's schema decides whether that is fine
      return next();
    }
    try {
      req.body = parseJsonBody(req.body);
    } catch (err) {
      return next(err);
    }
    next();
  };
  return [precheck, raw, parse];
}
