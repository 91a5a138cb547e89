/**
 * The settleCustomer workflow's hold timer: one durable timer at a time, for the earliest hold end, kept
 * while that end stays the same and cancelled only when it changes.
 */
import { CancellationScope, sleep } from '@temporalio/workflow';

export interface RunningTimer {
  until: string;
  fired: boolean;
  scope: CancellationScope;
}

export class HoldTimer {
  private running: RunningTimer | null = null;

  /**
   * The timer for the hold end `until`, `wait` ms away: the running one if it has that end, else a new one.
   *
   * @param summary what the Web UI shows for the timer (see holdTimerSummary)
   */
  for(until: string, wait: number, summary: string): RunningTimer {
    if (this.running?.until === until) return this.running;
    this.running?.scope.cancel();
    const next = { until, fired: false, scope: new CancellationScope() };
    next.scope
      .run(() => sleep(wait, { summary }))
      .then(
        () => (next.fired = true),
        () => undefined, // cancelled: a different hold end came first
      );
    this.running = next;
    return next;
  }
}
