import { cleanUpInputFrom } from '../config/retention.js';
import { createPool } from '../db/pool.js';
import { createDeliveryRuntime } from '../delivery/deps.js';
import { startBreakerWatch } from '../ingest/breaker-watch.js';
import { startReconciler } from '../ingest/reconciler.js';
import { createLogger } from '../log.js';
import { temporalSettingsFrom } from '../temporal/connection-options.js';
import { connectWithRetry, TemporalGateway } from '../temporal/gateway.js';
import { ensureRetentionSchedule, RETENTION_SCHEDULE_ID } from '../temporal/retention-schedule.js';
import { activityDepsFrom } from './host/activity-deps.js';
import { installTemporalRuntime } from './host/runtime.js';
import { createWorker, workerTuning } from './host/worker.js';
import { startMetricsServer } from './metrics-server.js';
import { onShutdown } from './shutdown.js';
import { startupConfig } from './startup-config.js';

/**
 * Entry point: the Temporal worker (workflows and activities), the start reconciler and the breaker watch.
 * SIGTERM stops polling, lets in-flight activities finish, then closes connections.
 */
const config = startupConfig('worker');
const logger = createLogger(config.LOG_LEVEL, 'worker');
installTemporalRuntime(
  logger,
  config.TEMPORAL_METRICS_PORT ? { host: config.HOST, port: config.TEMPORAL_METRICS_PORT } : undefined,
);
const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
const gateway = new TemporalGateway(temporalSettingsFrom(config), config.TEMPORAL_NAMESPACE);
const connection = await connectWithRetry(gateway, (err) =>
  logger.warn({ address: config.TEMPORAL_ADDRESS, err: err.message }, 'waiting for Temporal'),
).catch((err: Error) => {
  // A TLS refusal: a certificate problem that waiting does not cure.
  logger.fatal({ address: config.TEMPORAL_ADDRESS, err: err.message }, 'cannot connect to Temporal');
  process.exit(1);
});
const delivery = createDeliveryRuntime(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps: activityDepsFrom(config, delivery, { pool, client: await gateway.client(), logger }),
  workflowBundlePath: config.TEMPORAL_WORKFLOW_BUNDLE,
  logger,
  tuning: workerTuning(config),
});
const reconciler = startReconciler(
  {
    pool,
    client: await gateway.client(),
    start: { taskQueue: config.TEMPORAL_TASK_QUEUE, eager: false, timeoutMs: config.TEMPORAL_START_TIMEOUT },
    logger,
    graceMs: config.RECONCILE_GRACE,
  },
  config.RECONCILE_INTERVAL,
);
const breakerWatch = startBreakerWatch(
  { pool, client: () => gateway.client(), logger },
  config.BREAKER_WATCH_INTERVAL,
);
// The retention clean-up runs on this task queue, on the settings this worker read (a failure is logged:
// deliveries must not wait for it).
await ensureRetentionSchedule(await gateway.client(), {
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  everyMs: config.RETENTION_CLEANUP_INTERVAL,
  input: cleanUpInputFrom(config),
}).then(
  (done) => logger.info({ schedule: RETENTION_SCHEDULE_ID }, `retention schedule ${done}`),
  (err: Error) =>
    logger.error({ schedule: RETENTION_SCHEDULE_ID, err: err.message }, 'retention schedule not set'),
);
const metrics = config.WORKER_METRICS_PORT
  ? startMetricsServer(pool, config.HOST, config.WORKER_METRICS_PORT, logger)
  : undefined;
const running = worker.run();
onShutdown(logger, config.SHUTDOWN_GRACE, async () => {
  metrics?.close();
  await reconciler.stop();
  await breakerWatch.stop();
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await gateway.close();
  delivery.http.close();
  await pool.end();
});
logger.info(
  { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE },
  'worker running',
);
await running.catch((err: Error) => {
  logger.fatal({ err: { message: err.message, stack: err.stack } }, 'worker failed');
  process.exit(1);
});
