/**
 * The fault run's clock and timeline: t=0 is when the load began; each noted line is printed and kept for
 * the results file.
 */
export class Timeline {
  /** When the load began (until then, when the run began). */
  t0 = Date.now();
  readonly lines: string[] = [];

  constructor(private readonly say: (line: string) => void) {}

  /** The load begins now: t=0. */
  start(): void {
    this.t0 = Date.now();
  }

  note(what: string): void {
    const line = `t=${((Date.now() - this.t0) / 1000).toFixed(1)}s ${what}`;
    this.lines.push(line);
    this.say(line);
  }

  /** Process exits, each with its time on the timeline. */
  exits(list: { at: number; what: string }[]): string {
    return list.map((e) => `${e.what} at t=${((e.at - this.t0) / 1000).toFixed(1)}s`).join('; ');
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
