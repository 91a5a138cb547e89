import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isDatabaseUnavailable, type Pool } from '../db/pool.js';
import { pingDatabase } from '../db/health.js';
import { deliveryBacklog } from '../db/delivery-backlog.js';
import { scrape, watchBacklog } from '../metrics.js';
import type { AcceptDeps } from '../ingest/accept-event.js';
import { ApiKeyCache, confinePortalTokens, requireAdmin, requireOperator, requirePortal } from './auth.js';
import { AuthFailureThrottle } from './auth-throttle.js';
import { AppError, errors, RateLimitedError } from '../errors.js';
import { jsonBody } from './json-body.js';
import { buildOpenApi } from './openapi.js';
import { mountRoutes, type RouteDef } from './route.js';
import type { DeliveryRuntime } from '../delivery/deps.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { affiliateRoutes } from './routes/affiliates.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventRoutes } from './routes/events.js';
import { operatorRoutes } from './routes/operators.js';
import { eventBatchRoutes } from './routes/events-batch.js';
import { inboundRouter } from './routes/inbound.js';
import { withInboundPaths } from './routes/inbound-openapi.js';
import { sourceRoutes } from './routes/sources.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { fxRateRoutes } from './routes/fx-rates.js';
import { feedRoutes } from './routes/feed.js';
import { portalLinkRoutes } from './routes/portal-links.js';
import { portalRoutes } from './routes/portal.js';
import { consoleRouter, type ConsoleSettings } from './console/serve.js';

export interface AppDeps {
  pool: Pool;
  accept: Omit<AcceptDeps, 'pool' | 'logger'>;
  adminToken: string;
  maxBodyBytes: number;
  logger: Logger;
  /** Readiness beyond PostgreSQL: true when Temporal answers. */
  temporalReady: () => Promise<boolean>;
  delivery: DeliveryRuntime;
  secretRotationGraceMs: number;
  defaultTimeoutMs: number;
  /** Express `trust proxy`: who may name the client (its address for throttling and logs); unset: nobody. */
  trustProxy?: boolean | number | string | undefined;
  /** RETENTION_EVENTS_AFTER, which the feed reports as how far back it reaches (its default when absent). */
  retentionEventsMs?: number | undefined;
  /** The console's links to the Temporal Web UI; unset, its pages show workflow ids without links. */
  console?: ConsoleSettings | undefined;
}

export function allRoutes(
  deps: Pick<
    AppDeps,
    | 'pool'
    | 'accept'
    | 'logger'
    | 'delivery'
    | 'secretRotationGraceMs'
    | 'defaultTimeoutMs'
    | 'retentionEventsMs'
  >,
): RouteDef[] {
  const accept: AcceptDeps = { ...deps.accept, pool: deps.pool, logger: deps.logger };
  const temporal = { client: deps.accept.client, taskQueue: deps.accept.start.taskQueue };
  return [
    ...operatorRoutes(deps),
    ...eventRoutes({ pool: deps.pool, accept }),
    ...eventBatchRoutes({ accept }),
    ...sourceRoutes({
      pool: deps.pool,
      delivery: deps.delivery,
      secretRotationGraceMs: deps.secretRotationGraceMs,
    }),
    ...endpointRoutes({
      pool: deps.pool,
      delivery: deps.delivery,
      ...temporal,
      secretRotationGraceMs: deps.secretRotationGraceMs,
      defaultTimeoutMs: deps.defaultTimeoutMs,
      logger: deps.logger,
    }),
    ...deliveryRoutes({ pool: deps.pool, ...temporal, logger: deps.logger }),
    ...affiliateRoutes({ pool: deps.pool, ...temporal, startTimeoutMs: deps.accept.start.timeoutMs }),
    ...fxRateRoutes({ pool: deps.pool, accept }),
    ...eventTypeRoutes(),
    ...feedRoutes({ pool: deps.pool, retentionEventsMs: deps.retentionEventsMs }),
    ...portalLinkRoutes({ pool: deps.pool }),
    ...portalRoutes({ pool: deps.pool, ...temporal }),
  ];
}

/** Builds the Express app; all I/O comes in through deps. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  app.use(requestLog(deps.logger));
  // Before every router: a portal token opens /v1/portal and nothing else, routes added later included.
  app.use(confinePortalTokens());

  const routes = allRoutes(deps);
  const router = express.Router();
  const body = jsonBody(deps.maxBodyBytes);
  // One per process, shared by both: wrong admin tokens and wrong API keys count together per address.
  const throttle = new AuthFailureThrottle();
  mountRoutes(router, routes, {
    admin: chain(requireAdmin(deps.adminToken, throttle), body),
    operator: chain(requireOperator(deps.pool, new ApiKeyCache(), throttle), body),
    portal: chain(requirePortal(deps.pool, throttle), body),
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const [database, temporal] = await Promise.all([
      pingDatabase(deps.pool).then(
        () => true,
        () => false,
      ),
      deps.temporalReady().catch(() => false),
    ]);
    res.status(database && temporal ? 200 : 503).json({ database, temporal });
  });
  // Prometheus text format, no auth: the labels are bounded and carry no operator, customer or secret.
  watchBacklog(() => deliveryBacklog(deps.pool));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await scrape();
    res.setHeader('content-type', contentType);
    res.send(body);
  });
  const openapi = withInboundPaths(buildOpenApi(routes, '1.0.0'));
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  // Inbound sources authenticate by signature or token, not API key, and need the raw body: own router.
  app.use(
    inboundRouter({
      pool: deps.pool,
      accept: { ...deps.accept, pool: deps.pool, logger: deps.logger },
      delivery: deps.delivery,
      maxBodyBytes: deps.maxBodyBytes,
      logger: deps.logger,
    }),
  );
  app.use(consoleRouter(deps.console ?? { temporalUiUrl: '', namespace: 'default' }));
  app.use(router);
  app.use((req, _res, next) => next(errors.routeNotFound(req.method, req.path)));
  app.use(errorHandler(deps.logger));
  return app;
}

/** Runs several middlewares as one, in order. */
function chain(...handlers: (RequestHandler | RequestHandler[])[]): RequestHandler {
  const flat = handlers.flat();
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined || i === flat.length) return next(err);
      const handler = flat[i++]!;
      try {
        const out = handler(req, res, step) as unknown;
        if (out instanceof Promise) out.catch(step);
      } catch (e) {
        step(e);
      }
    };
    step();
  };
}

function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', requestId);
    res.locals.log = logger.child({ requestId });
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      (res.locals.log as Logger).info(
        {
          method: req.method,
          // A route may log a redacted path (inbound tokens are secrets in the path).
          path: (res.locals.logPath as string | undefined) ?? req.path,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const log = (res.locals.log as Logger | undefined) ?? logger;
    let appError: AppError;
    if (err instanceof AppError) appError = err;
    else if (err?.type === 'entity.too.large') appError = errors.payloadTooLarge(err.limit);
    else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported')
      appError = errors.unsupportedMediaType(err.charset);
    else if (err?.type === 'request.aborted')
      appError = new AppError(400, 'request_aborted', 'The request was aborted.');
    else if (isDatabaseUnavailable(err)) appError = errors.unavailable('database');
    else {
      log.error({ err }, 'unhandled error');
      res.status(500).json({ error: { code: 'internal_error', message: 'Internal error.' } });
      return;
    }
    if (res.headersSent) return;
    res.locals.errorCode = appError.code; // for whoever notes the answer (the inbound request log)
    if (appError.status === 503) res.setHeader('retry-after', '5');
    if (appError instanceof RateLimitedError)
      res.setHeader('retry-after', String(appError.retryAfterSeconds));
    res.status(appError.status).json(appError.toJSON());
  };
}
