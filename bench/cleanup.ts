/**
 * Everything the bench starts registers how to undo it here; `run()` undoes it all in reverse order, once,
 * whatever happened (normal end, failure, Ctrl-C, SIGTERM), each step bounded in time.
 */
export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly say: (line: string) => void) {}

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(step.fn),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out after 30 s')), 30_000);
            }),
          ]);
        } catch (err) {
          this.say(`cleanup: ${step.name}: ${(err as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }
      this.steps.length = 0;
    })();
    return this.running;
  }
}
