import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../../../activities/index.js';

/** The workflows entry: the TypeScript source under tsx, the compiled file under dist. */
export function workflowsPath(): string {
  for (const candidate of ['../../../workflows/index.ts', '../../../workflows/index.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('workflows/index is missing');
}

/** Bundles the workflow code once, to a file a worker can load without webpack (build step and tests). */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietBundlerLogger });
  return code;
}

const noop = () => undefined;
const quietBundlerLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: console.error,
  log: noop,
};

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (see bundleWorkflows); without it the worker bundles at start (a few seconds). */
  workflowBundlePath?: string | undefined;
  logger?: Logger;
  /** How the worker names itself in histories (default: the SDK's `<pid>@<host>`). */
  identity?: string;
  tuning?: Partial<
    Pick<
      WorkerOptions,
      | 'maxConcurrentActivityTaskExecutions'
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxCachedWorkflows'
      | 'enableNonLocalActivities'
    >
  >;
}

/** A worker hosting every workflow and activity of the project on one task queue. */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const workflowSource =
    opts.workflowBundlePath && existsSync(opts.workflowBundlePath)
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: workflowsPath() };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    ...workflowSource,
    shutdownGraceTime: '10s',
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.tuning,
  });
}

/**
 * The worker settings an operator may tune; unset ones keep the SDK's defaults. Only the API reads
 * API_EMBEDDED_WORKER_RETRIES: false leaves server-side activities (retries, waits) to the worker processes.
 */
export function workerTuning(config: {
  WORKER_MAX_CACHED_WORKFLOWS?: number | undefined;
  API_EMBEDDED_WORKER_RETRIES?: boolean;
}): CreateWorkerOptions['tuning'] {
  return {
    ...(config.WORKER_MAX_CACHED_WORKFLOWS === undefined
      ? {}
      : { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }),
    ...(config.API_EMBEDDED_WORKER_RETRIES === false ? { enableNonLocalActivities: false } : {}),
  };
}
