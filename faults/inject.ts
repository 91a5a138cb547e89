/**
 * The faults the run injects during the load: each worker SIGKILLed once it has polled for a while (a new
 * one starts at once), the Temporal server killed and restarted once at 35% of the load, every PostgreSQL
 * backend of the database terminated for 5 s at 65%. Each is noted on the timeline; the figures feed the
 * checks.
 */
import { cutDatabase, type FaultSystem } from './system.js';
import { sleep, type Timeline } from './timeline.js';

export interface Injection {
  kills: number;
  temporalDownAt: number;
  temporalBackAt: number;
  /** Backends the PostgreSQL cut terminated, and when it began. */
  terminated: number;
  cutAt: number;
  /** The Temporal restart and the PostgreSQL cut, both over. */
  done: Promise<unknown>;
  /** No more worker kills. */
  stopKiller(): void;
}

export function injectFaults(
  sys: FaultSystem,
  timeline: Timeline,
  o: { loadMs: number; killEveryMs: number },
): Injection {
  const note = (what: string) => timeline.note(what);
  const injection: Injection = {
    kills: 0,
    temporalDownAt: 0,
    temporalBackAt: 0,
    terminated: 0,
    cutAt: 0,
    done: Promise.resolve(),
    stopKiller: () => clearInterval(killer),
  };
  // Each worker is killed once it has been polling for killEveryMs: on a loaded machine a worker can take
  // longer than that to start, and a kill before it polls would test nothing.
  const killer = setInterval(() => {
    const readyAt = sys.worker.readyAt();
    if (readyAt === null || Date.now() - readyAt < o.killEveryMs) return;
    injection.kills += 1;
    note(
      `worker SIGKILL #${injection.kills} (${((Date.now() - readyAt) / 1000).toFixed(1)} s after it was ready), a new one started`,
    );
    sys.worker.killAndRestart();
  }, 250);
  const temporalFault = sleep(o.loadMs * 0.35).then(async () => {
    note('Temporal server SIGKILL');
    injection.temporalDownAt = Date.now();
    await sys.restartTemporal(3_000);
    injection.temporalBackAt = Date.now();
    note(
      `Temporal server restarted on the same SQLite file (${injection.temporalBackAt - injection.temporalDownAt} ms)`,
    );
  });
  const pgFault = sleep(o.loadMs * 0.65).then(async () => {
    note('PostgreSQL: terminating every backend of the database, for 5 s');
    injection.cutAt = Date.now();
    injection.terminated = await cutDatabase(sys.databaseName, 5_000);
    note(`PostgreSQL cut over (${injection.terminated} backends terminated)`);
  });
  injection.done = Promise.all([temporalFault, pgFault]);
  return injection;
}
