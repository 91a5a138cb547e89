import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../api/app.js';
import { createPool } from '../db/pool.js';
import { createDeliveryRuntime } from '../delivery/deps.js';
import { createLogger } from '../log.js';
import { temporalSettingsFrom } from '../temporal/connection-options.js';
import { connectWithRetry, TemporalGateway } from '../temporal/gateway.js';
import { activityDepsFrom } from './host/activity-deps.js';
import { installTemporalRuntime } from './host/runtime.js';
import { createWorker, workerTuning } from './host/worker.js';
import { onShutdown } from './shutdown.js';
import { startupConfig } from './startup-config.js';

/**
 * Entry point: the REST API. With API_EMBEDDED_WORKER it also hosts a worker on the same connection and
 * starts event workflows eagerly on it, saving a server round trip per event.
 * SIGTERM stops accepting connections, finishes in-flight requests, drains the embedded worker, then exits.
 */
const config = startupConfig('api');
const logger = createLogger(config.LOG_LEVEL, 'api');
installTemporalRuntime(logger);
const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
const gateway = new TemporalGateway(temporalSettingsFrom(config), config.TEMPORAL_NAMESPACE);
const delivery = createDeliveryRuntime(config);

let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
const shutdownSignal = new AbortController();
if (config.API_EMBEDDED_WORKER) {
  // In the background: the API answers (503 where Temporal is needed) until Temporal is reachable.
  void connectWithRetry(
    gateway,
    (err) => logger.warn({ address: config.TEMPORAL_ADDRESS, err: err.message }, 'waiting for Temporal'),
    shutdownSignal.signal,
  )
    .then(async (connection) => {
      worker = await createWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        deps: activityDepsFrom(config, delivery, { pool, client: await gateway.client(), logger }),
        workflowBundlePath: config.TEMPORAL_WORKFLOW_BUNDLE,
        logger,
        tuning: workerTuning(config),
      });
      workerRun = worker.run();
      logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'embedded worker running');
      await workerRun;
    })
    .catch((err: Error) => {
      if (shutdownSignal.signal.aborted) return;
      logger.fatal({ err: { message: err.message, stack: err.stack } }, 'embedded worker failed');
      process.exit(1);
    });
}

const app = createApp({
  pool,
  accept: {
    client: () => gateway.client(),
    start: {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      // Eager start needs a local worker polling this queue on the shared connection.
      eager: config.API_EMBEDDED_WORKER,
      timeoutMs: config.TEMPORAL_START_TIMEOUT,
    },
  },
  adminToken: config.ADMIN_TOKEN,
  maxBodyBytes: config.MAX_BODY_BYTES,
  logger,
  temporalReady: () => gateway.ready(),
  delivery,
  secretRotationGraceMs: config.SECRET_ROTATION_GRACE,
  defaultTimeoutMs: config.DELIVERY_TIMEOUT,
  trustProxy: config.TRUST_PROXY,
  retentionEventsMs: config.RETENTION_EVENTS_AFTER,
  console: { temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE },
});

// A client that sends its request slowly (headers or body) holds a connection and a socket at most this long:
// it gets 408 and the connection closes. Checked every second rather than Node's default 30 s.
const server: Server = createServer(
  {
    requestTimeout: config.REQUEST_TIMEOUT,
    headersTimeout: Math.min(config.REQUEST_TIMEOUT, 20_000),
    connectionsCheckingInterval: 1_000,
  },
  app,
);
server.listen(config.PORT, config.HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ url: `http://${config.HOST}:${port}` }, 'api listening');
});
server.keepAliveTimeout = 65_000;

onShutdown(logger, config.SHUTDOWN_GRACE, async () => {
  shutdownSignal.abort();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  if (worker) {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
  }
  await gateway.close();
  delivery.http.close();
  await pool.end();
});
