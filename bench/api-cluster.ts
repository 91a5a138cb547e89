/**
 * `--api-processes N` (N > 1): the API tier as N processes behind one port, the way a deployment spreads it
 * over cores. This primary forks N copies of the product's own entry point (`src/main/api.ts`, each with its
 * embedded worker, so an event's workflow task runs in the process that accepted it) with node:cluster,
 * which shares the listening socket: the primary accepts connections and hands them to the copies in turn.
 * Nothing in the product changes.
 *
 * For the bench it also:
 * - relays the PostgreSQL round-trip count (`bench:pg-counts`, see pg-count-hook.mjs) to every copy and
 *   answers with their sum;
 * - names the copies' pids (`bench:api-pids`), so their CPU is measured as the API tier's;
 * - passes SIGTERM and SIGINT on to every copy and exits once all have.
 */
import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import process from 'node:process';

interface Counts {
  queries: number;
  transactions: number;
  byStatement: Record<string, number>;
}

const root = join(import.meta.dirname, '..');
const copies = Math.max(1, Number(process.env.BENCH_API_PROCESSES ?? 2));

// The primary's own flags (tsx, a CPU profile's directory) and the round-trip counter, which the primary
// itself does not load: it answers for its copies.
cluster.setupPrimary({
  exec: join(root, 'src', 'main', 'api.ts'),
  execArgv: [...process.execArgv, '--import', join(root, 'bench', 'pg-count-hook.mjs')],
});
const workers: Worker[] = Array.from({ length: copies }, () => cluster.fork());

let stopping = false;
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    // A copy that dies takes the measurement with it: stop the whole tier, the bench reports the exit.
    console.error(`api copy ${worker.process.pid} exited (${code ?? signal}); stopping the tier`);
    stop('SIGTERM');
  }
  if (workers.every((w) => w.isDead())) process.exit(stopping ? 0 : 1);
});

function stop(signal: NodeJS.Signals) {
  stopping = true;
  for (const w of workers) if (!w.isDead()) w.process.kill(signal);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

let seq = 0;
process.on('message', (message: { type?: string; seq?: number }) => {
  if (message?.type === 'bench:api-pids') {
    process.send?.({ type: 'bench:api-pids', pids: workers.map((w) => w.process.pid) });
    return;
  }
  if (message?.type !== 'bench:pg-counts') return;
  const asked = ++seq;
  void Promise.all(workers.map((w) => countsOf(w, asked))).then((all) => {
    const sum: Counts = { queries: 0, transactions: 0, byStatement: {} };
    for (const c of all) {
      sum.queries += c.queries;
      sum.transactions += c.transactions;
      for (const [k, n] of Object.entries(c.byStatement)) sum.byStatement[k] = (sum.byStatement[k] ?? 0) + n;
    }
    process.send?.({ type: 'bench:pg-counts', seq: message.seq, counts: sum });
  });
});

function countsOf(worker: Worker, asked: number): Promise<Counts> {
  return new Promise((resolve) => {
    const onMessage = (m: { type?: string; seq?: number; counts?: Counts }) => {
      if (m?.type !== 'bench:pg-counts' || m.seq !== asked) return;
      worker.off('message', onMessage);
      resolve(m.counts!);
    };
    worker.on('message', onMessage);
    worker.send({ type: 'bench:pg-counts', seq: asked });
  });
}
