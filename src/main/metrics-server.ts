import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { deliveryBacklog } from '../db/delivery-backlog.js';
import type { Pool } from '../db/pool.js';
import { scrape, watchBacklog } from '../metrics.js';

/**
 * The worker's `GET /metrics` (Prometheus text format) on a port of its own, WORKER_METRICS_PORT: the same
 * registry as the API's. The Temporal SDK's own worker metrics are on TEMPORAL_METRICS_PORT (the Runtime's
 * exporter, see host/runtime.ts).
 */
export function startMetricsServer(pool: Pool, host: string, port: number, logger: Logger): Server {
  watchBacklog(() => deliveryBacklog(pool));
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) => {
        logger.warn({ err: err.message }, 'metrics scrape failed');
        res.writeHead(500).end();
      },
    );
  });
  server.listen(port, host, () =>
    logger.info({ url: `http://${host}:${port}/metrics` }, 'metrics listening'),
  );
  return server;
}
