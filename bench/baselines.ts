import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { ChildMessage, BaselineMode, ParentMessage } from './baseline/child.js';
import type { PostTarget } from './baseline/activities.js';
import type { Shape } from './load.js';
import type { Tracker } from './tracker.js';

/** The bench's side of a baseline process (bench/baseline/child.ts). */
export interface Baseline extends Shape {
  mode: BaselineMode;
  child: ChildProcess;
  /** Ceiling only: a closed POST loop. */
  loop(
    concurrency: number,
    durationMs: number,
    idPrefix: string,
  ): Promise<Extract<ChildMessage, { t: 'looped' }>>;
  stop(): Promise<void>;
}

const here = import.meta.dirname;

export async function bundleBaselineWorkflows(): Promise<string> {
  const silent = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(here, 'baseline', 'workflows.ts'),
    logger: { trace: silent, debug: silent, info: silent, warn: silent, error: console.error, log: silent },
  });
  return code;
}

export async function startBaseline(opts: {
  mode: BaselineMode;
  tracker: Tracker;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  target: PostTarget;
  readyTimeoutMs?: number;
}): Promise<Baseline> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'baseline', 'child.ts')], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (m: ChildMessage) => void>();
  let seq = 0;
  let exited = false;
  child.on('exit', () => {
    exited = true;
    for (const resolve of waiting.values())
      resolve({ t: 'sent', seq: -1, ok: false, sentAt: 0, acceptedAt: 0, acceptMs: 0, error: 'exited' });
    waiting.clear();
  });
  child.on('message', (m: ChildMessage) => {
    if (m.t === 'sent' || m.t === 'looped') {
      waiting.get(m.seq)?.(m);
      waiting.delete(m.seq);
    }
  });
  const post = (m: ParentMessage) => {
    if (!exited && child.connected) child.send(m);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`baseline ${opts.mode} not ready`)),
      opts.readyTimeoutMs ?? 60_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baseline ${opts.mode} exited with ${code}`));
    });
    child.on('message', (m: ChildMessage) => {
      if (m.t === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (m.t === 'error') {
        clearTimeout(timer);
        reject(new Error(`baseline ${opts.mode}: ${m.message}`));
      }
    });
    post({
      t: 'init',
      mode: opts.mode,
      temporalAddress: opts.temporalAddress,
      namespace: opts.namespace,
      taskQueue: opts.taskQueue,
      bundlePath: opts.bundlePath,
      target: opts.target,
    });
  });
  const request = <T extends ChildMessage>(m: ParentMessage & { seq: number }) =>
    new Promise<T>((resolve) => {
      waiting.set(m.seq, resolve as (m: ChildMessage) => void);
      post(m);
    });
  return {
    mode: opts.mode,
    name: opts.mode,
    expected: 1,
    child,
    async send(ev) {
      const reply = await request<Extract<ChildMessage, { t: 'sent' }>>({ t: 'send', seq: ++seq, id: ev.id });
      if (reply.sentAt) ev.sentAt = reply.sentAt;
      opts.tracker.accepted(ev, reply.ok ? 202 : 1, reply.acceptedAt || ev.sentAt, reply.acceptMs);
    },
    loop(concurrency, durationMs, idPrefix) {
      return request({ t: 'loop', seq: ++seq, concurrency, durationMs, idPrefix });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      post({ t: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
