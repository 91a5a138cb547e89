import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';

/**
 * CPU and memory of the real processes, from /proc: utime + stime deltas of /proc/<pid>/stat per phase,
 * and the peak resident set (VmHWM of /proc/<pid>/status, reset per phase through /proc/<pid>/clear_refs
 * where permitted, and the largest VmRSS sampled in the phase as a fallback). PostgreSQL is counted as
 * the CPU of the backends serving the bench database (from pg_stat_activity), without memory: their
 * resident set is mostly shared buffers. `other` is the rest of the machine's busy time (/proc/stat).
 *
 * `steal` is CPU time the hypervisor gave to other guests while this machine's CPUs wanted to run (the
 * steal column of /proc/stat): on a shared virtual machine it stalls every process at once, the product
 * and the bench's own clock alike, so a phase that holds some measures the host, not the product. It is
 * kept apart from `other`, with the worst second of the phase, since a stall of a second or two hides in
 * a phase's average.
 */
export interface ProcessUse {
  cpuPercent: number;
  cpuMs: number;
  peakRssMb: number | null;
}

export interface PhaseUse {
  phase: string;
  seconds: number;
  processes: Record<string, ProcessUse>;
  /** % of one core taken by the hypervisor (steal), over the phase and in its worst sampled second. */
  steal?: StealUse;
}

export interface StealUse {
  percent: number;
  worstSecondPercent: number;
}

/** A phase whose worst second lost this much of a core to the hypervisor measured the host as well. */
export const STEAL_SUSPECT_PERCENT = 20;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Ticks of the whole machine (all CPUs), from /proc/stat: busy (user, nice, system, irq, softirq) and
 * stolen by the hypervisor (steal), apart.
 */
function machineTicks(): { busy: number; steal: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const steal = cpu[7] ?? 0;
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0) - steal, steal };
  } catch {
    return null;
  }
}

function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

/** The resident set of a process now, in MB (null when it is gone). */
export function currentRssMb(pid: number): number | null {
  const mem = memoryKb(pid);
  return mem && Number.isFinite(mem.rss) ? Math.round(mem.rss / 1024) : null;
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

interface Open {
  phase: string;
  startedAt: number;
  ticks: Map<string, number>;
  machine: { busy: number; steal: number } | null;
  worstStealPercent: number;
  pgTicks: Map<number, number>;
  peakRss: Map<string, number>;
  peakReset: Set<string>;
}

/**
 * A role measured over several processes (`api#1`, `api#2`, ...: the API tier behind one port) is reported
 * as one role (`api`): CPU and peak memory summed, CPU % of one core.
 */
function foldCopies(processes: Record<string, ProcessUse>): void {
  for (const [role, use] of Object.entries(processes)) {
    const base = /^(.+)#[^#]+$/.exec(role)?.[1];
    if (!base) continue;
    delete processes[role];
    const into = processes[base];
    processes[base] = into
      ? {
          cpuPercent: into.cpuPercent + use.cpuPercent,
          cpuMs: into.cpuMs + use.cpuMs,
          peakRssMb:
            into.peakRssMb === null || use.peakRssMb === null ? null : into.peakRssMb + use.peakRssMb,
        }
      : { ...use };
  }
}

export class ResourceSampler {
  private readonly roles = new Map<string, number>();
  private readonly pgLatest = new Map<number, number>();
  private readonly open = new Map<string, Open>();
  private timer: NodeJS.Timeout | undefined;
  private pgBusy = false;
  private lastSteal: { at: number; ticks: number } | null = null;
  readonly phases: PhaseUse[] = [];
  /** Peak resident set over the whole run, per role (VmHWM read at the end is not reset by phases). */
  readonly runPeakRssMb: Record<string, number> = {};

  constructor(
    private readonly monitor: pg.Client | null,
    private readonly databaseName: string | null,
    private readonly intervalMs = 1_000,
  ) {}

  track(role: string, pid: number | undefined): void {
    if (pid) this.roles.set(role, pid);
  }

  /** The processes measured, by role. */
  tracked(): Record<string, number> {
    return Object.fromEntries(this.roles);
  }

  untrack(role: string): void {
    this.roles.delete(role);
  }

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    this.sampleSteal();
    for (const [role, pid] of this.roles) {
      const mem = memoryKb(pid);
      if (!mem) continue;
      this.runPeakRssMb[role] = Math.max(this.runPeakRssMb[role] ?? 0, Math.round(mem.hwm / 1024));
      for (const o of this.open.values()) o.peakRss.set(role, Math.max(o.peakRss.get(role) ?? 0, mem.rss));
    }
    await this.samplePostgres();
  }

  /** The steal of the last interval, as % of one core, counted towards each open phase's worst second. */
  private sampleSteal(): void {
    const m = machineTicks();
    const at = performance.now();
    if (!m) return;
    const last = this.lastSteal;
    // Shorter intervals (a phase's end samples too) read too few ticks to say anything: they count with the next.
    if (last && at - last.at < 500) return;
    this.lastSteal = { at, ticks: m.steal };
    if (!last) return;
    const percent = Math.round((((m.steal - last.ticks) / CLK_TCK) * 1000 * 100) / (at - last.at));
    for (const o of this.open.values()) o.worstStealPercent = Math.max(o.worstStealPercent, percent);
  }

  private async samplePostgres(): Promise<void> {
    if (!this.monitor || !this.databaseName || this.pgBusy) return;
    this.pgBusy = true;
    try {
      const { rows } = await this.monitor.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1',
        [this.databaseName],
      );
      for (const { pid } of rows) {
        const ticks = cpuTicks(pid);
        if (ticks === null) continue;
        if (!this.pgLatest.has(pid)) for (const o of this.open.values()) o.pgTicks.set(pid, ticks);
        this.pgLatest.set(pid, ticks);
      }
    } catch {
      // the monitor connection is best effort
    } finally {
      this.pgBusy = false;
    }
  }

  /**
   * The CPU used over the next second, as % of one core: by the whole machine (steal apart) and by the
   * processes tracked. Null where /proc/stat cannot be read.
   */
  private async oneSecondOfCpu(): Promise<{ machine: number; tracked: number } | null> {
    const m0 = machineTicks();
    const r0 = [...this.roles.values()].map((pid) => cpuTicks(pid) ?? 0);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const m1 = machineTicks();
    const r1 = [...this.roles.values()].map((pid) => cpuTicks(pid) ?? 0);
    if (!m0 || !m1) return null;
    const percent = (ticks: number) =>
      Math.round(((ticks / CLK_TCK) * 1000 * 100) / (performance.now() - t0));
    return {
      machine: percent(m1.busy - m0.busy),
      tracked: percent(r1.reduce((a, t, j) => a + t - (r0[j] ?? t), 0)),
    };
  }

  /**
   * Waits (at most maxMs) until the rest of the machine has used less than `thresholdPercent` of a core
   * over a second, so a phase does not start while something else (a test run, a build) is busy.
   * Returns how long it waited.
   */
  async waitForQuiet(maxMs: number, thresholdPercent = 25): Promise<{ waitedMs: number; quiet: boolean }> {
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) {
      const cpu = await this.oneSecondOfCpu();
      if (!cpu) return { waitedMs: 0, quiet: true };
      const waitedMs = Math.round(performance.now() - started);
      if (cpu.machine - cpu.tracked < thresholdPercent)
        return { waitedMs: i === 0 ? 0 : waitedMs, quiet: true };
      if (waitedMs >= maxMs) return { waitedMs, quiet: false };
    }
    return { waitedMs: Math.round(performance.now() - started), quiet: false };
  }

  /**
   * Waits (at most maxMs) until the whole machine, the product included, has used less than
   * `thresholdPercent` of a core over a second: a burst the product is still taking in has passed.
   * Returns how long it waited and the last second's use.
   */
  async waitForSettled(
    maxMs: number,
    thresholdPercent: number,
  ): Promise<{ waitedMs: number; settled: boolean; lastPercent: number | null }> {
    const started = performance.now();
    for (;;) {
      const cpu = await this.oneSecondOfCpu();
      if (!cpu) return { waitedMs: 0, settled: true, lastPercent: null };
      const waitedMs = Math.round(performance.now() - started);
      if (cpu.machine < thresholdPercent) return { waitedMs, settled: true, lastPercent: cpu.machine };
      if (waitedMs >= maxMs) return { waitedMs, settled: false, lastPercent: cpu.machine };
    }
  }

  begin(phase: string): void {
    const o: Open = {
      phase,
      startedAt: performance.now(),
      ticks: new Map(),
      machine: machineTicks(),
      worstStealPercent: 0,
      pgTicks: new Map(this.pgLatest),
      peakRss: new Map(),
      peakReset: new Set(),
    };
    for (const [role, pid] of this.roles) {
      const t = cpuTicks(pid);
      if (t !== null) o.ticks.set(role, t);
      if (this.open.size === 0 && resetPeak(pid)) o.peakReset.add(role);
      const mem = memoryKb(pid);
      if (mem) o.peakRss.set(role, mem.rss);
    }
    this.open.set(phase, o);
  }

  async end(phase: string): Promise<PhaseUse> {
    const o = this.open.get(phase);
    if (!o) throw new Error(`phase ${phase} was not begun`);
    await this.sample();
    this.open.delete(phase);
    const seconds = (performance.now() - o.startedAt) / 1000;
    const processes: Record<string, ProcessUse> = {};
    for (const [role, pid] of this.roles) {
      const before = o.ticks.get(role);
      const after = cpuTicks(pid);
      if (before === undefined || after === null) continue;
      const cpuMs = ((after - before) / CLK_TCK) * 1000;
      const mem = memoryKb(pid);
      const peakKb = o.peakReset.has(role) && mem ? mem.hwm : (o.peakRss.get(role) ?? mem?.rss ?? null);
      processes[role] = {
        cpuPercent: Math.round(cpuMs / seconds / 10),
        cpuMs: Math.round(cpuMs),
        peakRssMb: peakKb === null ? null : Math.round(peakKb / 1024),
      };
    }
    foldCopies(processes);
    if (this.monitor && this.databaseName) {
      let ticks = 0;
      for (const [pid, latest] of this.pgLatest) ticks += latest - (o.pgTicks.get(pid) ?? latest);
      const cpuMs = (ticks / CLK_TCK) * 1000;
      processes.postgres = {
        cpuPercent: Math.round(cpuMs / seconds / 10),
        cpuMs: Math.round(cpuMs),
        peakRssMb: null,
      };
    }
    const machineAfter = machineTicks();
    let steal: StealUse | undefined;
    if (o.machine !== null && machineAfter !== null) {
      // Everything else on the machine: a busy neighbour shows here and makes the phase's figures suspect.
      const tracked = Object.values(processes).reduce((a, p) => a + p.cpuMs, 0);
      const cpuMs = Math.max(0, ((machineAfter.busy - o.machine.busy) / CLK_TCK) * 1000 - tracked);
      processes.other = {
        cpuPercent: Math.round(cpuMs / seconds / 10),
        cpuMs: Math.round(cpuMs),
        peakRssMb: null,
      };
      const stealMs = ((machineAfter.steal - o.machine.steal) / CLK_TCK) * 1000;
      steal = { percent: Math.round(stealMs / seconds / 10), worstSecondPercent: o.worstStealPercent };
    }
    const use: PhaseUse = {
      phase,
      seconds: Math.round(seconds * 10) / 10,
      processes,
      ...(steal ? { steal } : {}),
    };
    this.phases.push(use);
    return use;
  }
}
