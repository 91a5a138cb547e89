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

/**
 * Runs a bench command's `main` with `cleanup` undone at the end whatever happens (a failure is printed as
 * `<name>: failed: ...`), also on Ctrl-C and SIGTERM, then exits: 0, 1 on failure, 130 on a signal.
 */
export async function runMain(name: string, cleanup: Cleanup, main: () => Promise<void>): Promise<never> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => void cleanup.run().finally(() => process.exit(130)));
  let exitCode = 0;
  try {
    await main();
  } catch (err) {
    exitCode = 1;
    console.error(`${name}: failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await cleanup.run();
  }
  process.exit(exitCode);
}
