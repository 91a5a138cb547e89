import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Operator } from '../db/operators.js';
import type { PortalLink } from '../db/portal-links.js';
import { AppError, errors } from '../errors.js';
import { nulIssues } from '../contract/nul.js';

/**
 * A route is data: method, path, auth, zod schemas in and out, and a handler. The Express router and the
 * OpenAPI description are both built from the same list, so the schemas are the one source of truth.
 */
export interface RouteDef<
  B extends z.ZodType = z.ZodType,
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI-style path: `/v1/events/{id}`. */
  path: string;
  summary: string;
  /** Who may call it: an operator API key, the admin token, or a portal token (its affiliate's data only). */
  auth: 'operator' | 'admin' | 'portal';
  body?: B;
  params?: P;
  query?: Q;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handler: (ctx: RouteContext<z.infer<B>, z.infer<P>, z.infer<Q>>) => Promise<RouteResult>;
  /** Told of each refusal in the error shape, its validation included (the intake metrics count them). */
  onRefused?: (err: AppError) => void;
}

export interface RouteContext<B, P, Q> {
  body: B;
  params: P;
  query: Q;
  operator: Operator;
  /** The link a portal route was opened with (auth 'portal' only). */
  portal: PortalLink;
  req: Request;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  /** Headers beside the body (a 202's Location). */
  headers?: Record<string, string>;
}

/** Keeps each route's type parameters while building a heterogeneous list. */
export function defineRoute<B extends z.ZodType, P extends z.ZodType, Q extends z.ZodType>(
  def: RouteDef<B, P, Q>,
): RouteDef {
  return def as unknown as RouteDef;
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, prefix?: string): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  const at = (issues: z.core.$ZodIssue[]) =>
    prefix ? issues.map((i) => ({ ...i, path: [prefix, ...i.path] })) : issues;
  // Before the schema: a NUL anywhere, even in a field the schema lets through unread, cannot be stored.
  const nul = nulIssues(value);
  if (nul.length) throw errors.validation(at(nul));
  const result = schema.safeParse(value);
  if (!result.success) throw errors.validation(at(result.error.issues));
  return result.data;
}

/** Mounts route definitions on an Express router: parse (zod) -> call -> respond. */
export function mountRoutes(
  router: Router,
  routes: RouteDef[],
  auth: Record<RouteDef['auth'], RequestHandler>,
): void {
  for (const route of routes) {
    const expressPath = route.path.replace(/\{(\w+)\}/g, ':$1');
    router[route.method](expressPath, auth[route.auth], async (req: Request, res: Response) => {
      let result: RouteResult;
      try {
        const params = parse(route.params, req.params, 'params');
        const query = parse(route.query, req.query, 'query');
        const body = parse(route.body, req.body);
        result = await route.handler({
          body,
          params,
          query,
          operator: res.locals.operator as Operator,
          portal: res.locals.portal as PortalLink,
          req,
        });
      } catch (err) {
        if (err instanceof AppError) route.onRefused?.(err);
        throw err;
      }
      if (result.headers) res.set(result.headers);
      if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    });
  }
}
