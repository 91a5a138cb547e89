import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { createApp } from '../../src/api/app.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { createDeliveryRuntime, type DeliveryRuntime } from '../../src/delivery/deps.js';
import { createLogger } from '../../src/log.js';
import { activityDepsFrom } from '../../src/main/host/activity-deps.js';
import { installTemporalRuntime } from '../../src/main/host/runtime.js';
import { startBreakerWatch } from '../../src/ingest/breaker-watch.js';
import { createWorker, type CreateWorkerOptions } from '../../src/main/host/worker.js';
import { TemporalGateway } from '../../src/temporal/gateway.js';
import { testEnv } from './env.js';

/**
 * The whole system in the test process, against the real Temporal dev server and real PostgreSQL: the API
 * on an ephemeral port and a worker on a task queue of its own, so test files never see each other's work.
 */
export interface System {
  baseUrl: string;
  pool: Pool;
  client: Client;
  gateway: TemporalGateway;
  /** The Express app the API serves (to enumerate its routes). */
  app: Express;
  taskQueue: string;
  adminToken: string;
  /** POST/GET helpers returning status and parsed JSON. */
  request(
    method: string,
    path: string,
    opts?: RequestOpts,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** A fresh operator with its API key. */
  createOperator(name?: string): Promise<{ id: string; apiKey: string }>;
  stop(): Promise<void>;
}

export interface RequestOpts {
  apiKey?: string;
  json?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface SystemOptions {
  temporalAddress?: string;
  /** Host the worker in-process (default true). */
  worker?: boolean;
  eager?: boolean;
  startTimeoutMs?: number;
  /** Another PostgreSQL URL (an unreachable one, to test outages). */
  databaseUrl?: string;
  /** CIDRs deliveries may reach although private; default loopback, for local receivers. */
  ssrfAllow?: string[];
  secretRotationGraceMs?: number;
  /** Another system's task queue: its workflows, started while it had no worker, run on this one's. */
  taskQueue?: string;
  /** Endpoint health thresholds for the worker (defaults: 5 days, 4 attempts). */
  health?: { disableAfterMs: number; failingAfterAttempts: number };
  /**
   * Per-endpoint circuit breaker settings for the worker. Default: off (threshold 0), so tests of one
   * delivery's outcome rules see every attempt its schedule makes; test/integration/delivery-breaker.test.ts
   * turns it on.
   */
  breaker?: { failureThreshold: number; probeBaseMs: number; probeMaxMs: number; recheckMs: number };
  /**
   * What the in-process worker runs: everything (default), its workflows and their local attempts only
   * (server-side activities left to another worker), or server-side activities only (no workflows).
   */
  workerRole?: 'all' | 'workflows' | 'activities';
  /** Run the worker's breaker watch (src/ingest/breaker-watch.ts) this often; default: not at all. */
  breakerWatchMs?: number;
  /** Express `trust proxy` for the API (default: unset, the client is the TCP peer). */
  trustProxy?: boolean | number | string;
  /** The history length at which event workflows continue as new (default: the workflow's own). */
  eventHistoryLimit?: number;
  /** Worker settings as the entry points pass them (workerTuning), and the worker's identity in histories. */
  workerTuning?: CreateWorkerOptions['tuning'];
  workerIdentity?: string;
  /** The API's and worker's logger (default: silent, or LOG_LEVEL); a test may read what it logs. */
  logger?: Logger;
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const env = testEnv();
  const logger = opts.logger ?? createLogger(process.env.LOG_LEVEL ?? 'silent');
  installTemporalRuntime(logger);
  const pool = createPool(opts.databaseUrl ?? env.databaseUrl, 5);
  const gateway = new TemporalGateway(opts.temporalAddress ?? env.temporalAddress, 'default');
  const taskQueue = opts.taskQueue ?? `test-${randomBase62(8)}`;
  const delivery: DeliveryRuntime = createDeliveryRuntime({
    SECRETS_ENCRYPTION_KEYS: env.encryptionKeys,
    SSRF_ALLOWLIST: opts.ssrfAllow ?? ['127.0.0.0/8', '::1/128'],
    HTTPS_ONLY: false,
  });
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  if (opts.worker !== false) {
    const deps = activityDepsFrom(
      {
        TEMPORAL_TASK_QUEUE: taskQueue,
        ENDPOINT_DISABLE_AFTER: opts.health?.disableAfterMs ?? 5 * 86_400_000,
        DELIVERY_FAILING_AFTER_ATTEMPTS: opts.health?.failingAfterAttempts ?? 4,
        ...(opts.breaker
          ? {
              BREAKER_FAILURE_THRESHOLD: opts.breaker.failureThreshold,
              BREAKER_PROBE_INTERVAL: opts.breaker.probeBaseMs,
              BREAKER_PROBE_MAX_INTERVAL: opts.breaker.probeMaxMs,
              BREAKER_RECHECK_INTERVAL: opts.breaker.recheckMs,
            }
          : { BREAKER_FAILURE_THRESHOLD: 0 }),
      },
      delivery,
      { pool, client: await gateway.client(), logger },
    );
    worker =
      opts.workerRole === 'activities'
        ? // No workflows: it polls for server-side activities alone.
          await Worker.create({
            connection: await gateway.connection(),
            namespace: 'default',
            taskQueue,
            activities: createActivities(deps),
            shutdownGraceTime: '10s',
          })
        : await createWorker({
            connection: await gateway.connection(),
            namespace: 'default',
            taskQueue,
            deps,
            workflowBundlePath: env.workflowBundle,
            tuning: {
              ...opts.workerTuning,
              // Its workflows and their local attempts alone: server-side activities go to another worker.
              ...(opts.workerRole === 'workflows' ? { enableNonLocalActivities: false } : {}),
            },
            identity: opts.workerIdentity,
          });
    workerRun = worker.run();
  }
  const watch = opts.breakerWatchMs
    ? startBreakerWatch({ pool, client: () => gateway.client(), logger }, opts.breakerWatchMs)
    : undefined;
  const app = createApp({
    pool,
    accept: {
      client: () => gateway.client(),
      start: {
        taskQueue,
        eager: opts.eager ?? (worker !== undefined && opts.workerRole !== 'activities'),
        timeoutMs: opts.startTimeoutMs ?? 5_000,
        historyLimit: opts.eventHistoryLimit,
      },
    },
    adminToken: env.adminToken,
    maxBodyBytes: 256 * 1024,
    logger,
    temporalReady: () => gateway.ready(),
    delivery,
    secretRotationGraceMs: opts.secretRotationGraceMs ?? 86_400_000,
    defaultTimeoutMs: 15_000,
    trustProxy: opts.trustProxy,
    console: { temporalUiUrl: env.temporalUiUrl ?? '', namespace: 'default' },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request: System['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
    let body: string | Buffer | undefined = o.rawBody;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    baseUrl,
    pool,
    client: await gateway.client(),
    gateway,
    app,
    taskQueue,
    adminToken: env.adminToken,
    request,
    async createOperator(name = `op ${randomBase62(6)}`) {
      const res = await request('POST', '/v1/operators', {
        json: { name },
        headers: { authorization: `Bearer ${env.adminToken}` },
      });
      if (res.status !== 201) throw new Error(`createOperator: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, apiKey: res.body.apiKey };
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await watch?.stop();
      if (worker) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await workerRun;
      }
      await gateway.close();
      delivery.http.close();
      await pool.end();
    },
  };
}
