import type { ChildProcess } from 'node:child_process';

export interface SuperviseOptions {
  name: string;
  /** Spawns the process (again). */
  start: () => ChildProcess;
  say: (line: string) => void;
  /** Called once when it keeps dying: more than `maxRestarts` exits within `windowMs`. */
  onGiveUp: (code: number | null) => void;
  maxRestarts?: number;
  windowMs?: number;
  /** Wait before a restart, so a crash loop does not spin. */
  delayMs?: number;
}

export interface Supervised {
  /** The process running now (or the last one, after giving up or stopping). */
  current(): ChildProcess;
  /** Starts counting: from now on an exit is expected and nothing restarts. */
  stop(): void;
}

/**
 * Keeps one child process of `npm run dev` running: an unexpected exit is said out loud and the process is
 * started again after `delayMs`, so one crash does not leave a dead system behind; a process that keeps
 * dying (more than `maxRestarts` exits within `windowMs`) is given up on, and `onGiveUp` decides what then.
 */
export function supervise(o: SuperviseOptions): Supervised {
  const maxRestarts = o.maxRestarts ?? 5;
  const windowMs = o.windowMs ?? 60_000;
  const delayMs = o.delayMs ?? 1_000;
  let stopped = false;
  let exits: number[] = [];
  let child = launch();

  function launch(): ChildProcess {
    const c = o.start();
    c.once('exit', (code, signal) => {
      if (stopped) return;
      const now = Date.now();
      exits = [...exits.filter((at) => now - at < windowMs), now];
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (exits.length > maxRestarts) {
        stopped = true;
        o.say(`${o.name} exited with ${how}, ${exits.length} times within ${windowMs / 1000} s: giving up`);
        o.onGiveUp(code);
        return;
      }
      o.say(`${o.name} exited with ${how}; restarting it in ${delayMs} ms`);
      setTimeout(() => {
        if (!stopped) child = launch();
      }, delayMs);
    });
    return c;
  }

  return {
    current: () => child,
    stop() {
      stopped = true;
    },
  };
}
