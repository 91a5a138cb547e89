/**
 * The deliveries of one run of processEvent (see its header): each driven side by side, first as a local
 * attempt, then as a server-side activity retried by Temporal on the delivery's own policy; what the
 * signals ask of them (retry now, cancel, redrive, attempt failed); the hand-off to a new run; and what
 * the run shows of them (search attributes, current details). Workflow code: deterministic, no I/O.
 */
import {
  ActivityFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { Activities, AttemptFailure, DeliverOutcome } from '../activities/index.js';
import type { DeliverResult, DeliveryPlan, RetryingOutcome } from '../activities/index.js';
import { CANCEL_REASONS } from '../src/domain/cancel-reasons.js';
import { maxAttempts } from '../src/domain/retry-policy.js';
import type { AttemptFailedInfo, DeliveryView } from './definitions.js';
import {
  applied,
  BREAKER_WAITS,
  PUBLISH_REOPENED_RUN,
  QUIET_RETRY_MS,
  quietFirstRetries,
  REDRIVE_WHILE_ENDING,
  SCHEDULE_FROM_STORE,
  WAIT_FOR_CANCELLED_ATTEMPT,
} from './event-patches.js';
import { ProgressShown } from './event-progress.js';
import { bookkeeping, endCancelled, startLocalAttempt } from './local-attempts.js';
import {
  endSummary,
  firstAttemptSummary,
  logSummary,
  quietRetrySummary,
  retryTimerSummary,
} from './wait-summaries.js';
import {
  attemptFailure,
  breakerWaitsOnly,
  deliveryActivityOptions,
  settle,
  TERMINAL,
  replayed,
  resume,
  track,
  view,
  type HandedOver,
  type Tracked,
} from './tracked-delivery.js';

/** The event as the run's current details name it. */
export interface DeliveriesOf {
  type: string;
  eventId: string;
  customerId: string;
  /** This run continues an earlier one (continue-as-new). */
  continued: boolean;
  /** The patch level the run was started at (event-patches.ts); absent for runs of older starters. */
  level?: number | undefined;
}

/** The deliveries one run drives, and what it shows of them. */
export class EventDeliveries {
  readonly byId = new Map<string, Tracked>();
  /** Set once this run hands its unfinished deliveries to a new run: it launches no more attempts. */
  handingOff = false;
  /** An attempt ended in this run: a run that cannot get past its own start never hands off (no loop). */
  progressed = false;
  private readonly shown: ProgressShown;
  /** Set once load() ran; a replay's plans arriving before it are taken up after (early). */
  private loaded = false;
  private readonly early: DeliveryPlan[] = [];

  constructor(private readonly event: DeliveriesOf) {
    this.shown = new ProgressShown(event);
  }

  /** The `deliveries` query. */
  views(): DeliveryView[] {
    return [...this.byId.values()].map(view);
  }

  /** No delivery is being driven. */
  idle(): boolean {
    return [...this.byId.values()].every((d) => !d.active);
  }

  unfinished(): Tracked[] {
    return [...this.byId.values()].filter((d) => !TERMINAL.has(d.status));
  }

  /**
   * Takes up the deliveries applyEvent planned (reloaded from PostgreSQL in a later run), with what a
   * previous run handed over, and drives each unfinished one.
   */
  load(plans: DeliveryPlan[], handedOver: HandedOver[]): void {
    const handed = new Map(handedOver.map((h) => [h.deliveryId, h]));
    // Only a continued run asks (no marker on the happy path).
    const fromStore = handed.size > 0 && applied(this.event.level, SCHEDULE_FROM_STORE);
    // Only a run that starts with deliveries under way asks (a redrive's, a continued one).
    const underWay = plans.some((p) => p.attemptCount > 0 || TERMINAL.has(p.status));
    this.shown.all = underWay && applied(this.event.level, PUBLISH_REOPENED_RUN);
    for (const plan of plans) {
      const d = track(plan);
      resume(d, handed.get(d.deliveryId), fromStore ? (plan.nextAttemptAt ?? null) : undefined);
      this.byId.set(d.deliveryId, d);
      // A redrive reopens failed deliveries in PostgreSQL before it signals, so a new run sees them pending.
      if (!TERMINAL.has(d.status)) this.launch(d);
    }
    this.loaded = true;
    if (this.early.length) this.replay(this.early.splice(0));
    this.publish();
  }

  /** `deliveryAttemptFailed`: a server-side attempt failed and the delivery started retrying. */
  attemptFailed(info: AttemptFailedInfo): void {
    const d = this.byId.get(info.deliveryId);
    if (!d || TERMINAL.has(d.status) || info.attempt < d.attemptCount) return;
    d.status = 'retrying';
    d.attemptCount = info.attempt;
    d.nextAttemptAt = info.nextAttemptAt;
    d.lastError = info.error;
    d.dueNow = false;
    this.progressed = true;
    this.publish();
  }

  /** `retryDelivery`: cut a wait short; an attempt in flight is left to finish. */
  retry(deliveryId: string): void {
    const d = this.byId.get(deliveryId);
    // Handing off: the next run attempts it at once (unless an attempt on the wire fails and reschedules it).
    if (this.handingOff && d?.status === 'retrying') d.dueNow = true;
    // Only a waiting delivery is cut short: an attempt in flight is left to finish.
    else if (d?.active && d.status === 'retrying' && d.scope && !d.local) {
      d.dueNow = true;
      d.interrupt = 'retry';
      d.scope.cancel();
    }
  }

  /**
   * `wakeDelivery`: the endpoint's breaker let this delivery go (it closed, or this one probes next): a wait
   * ends now. Not during its local first attempt nor once an interruption is under way.
   */
  wake(deliveryId: string): void {
    const d = this.byId.get(deliveryId);
    if (!d || this.handingOff || !d.active || d.local || !d.scope || d.interrupt !== null) return;
    if (TERMINAL.has(d.status)) return;
    d.interrupt = 'retry';
    d.scope.cancel();
  }

  /** `cancelDelivery`: an attempt on the wire is aborted and waited for; the delivery ends `cancelled`. */
  cancelOne(deliveryId: string, reason: string | undefined): void {
    const d = this.byId.get(deliveryId);
    if (!d || TERMINAL.has(d.status)) return;
    d.interrupt = 'cancel';
    d.cancelReason = reason ?? CANCEL_REASONS.request;
    if (d.scope) d.scope.cancel();
    // Only in a hand-off is an unfinished delivery left undriven: drive it to its cancellation.
    else if (!d.active) this.launch(d);
  }

  /** `redriveDeliveries`: deliver failed deliveries reopened in PostgreSQL again, on a fresh schedule. */
  redrive(deliveryIds: string[]): void {
    for (const id of deliveryIds) {
      const d = this.byId.get(id);
      if (d?.active && !TERMINAL.has(d.status)) this.reopenOnEnd(d, { kind: 'redrive' });
      if (d && d.status === 'failed' && !d.active) {
        d.status = 'pending';
        d.driveBase = d.attemptCount;
        d.lastError = null;
        // In a hand-off the next run reloads it pending from PostgreSQL and drives it.
        if (!this.handingOff) this.launch(d);
      }
    }
    this.publish();
  }

  /** `replayDeliveries`: drive deliveries a replay put back to pending or made (tracked-delivery.ts). */
  replay(plans: DeliveryPlan[]): void {
    if (!this.loaded) return void this.early.push(...plans);
    for (const plan of plans) {
      const d = this.byId.get(plan.deliveryId);
      if (d?.active && !TERMINAL.has(d.status) && plan.status === 'pending')
        this.reopenOnEnd(d, { kind: 'replay', plan });
    }
    // In a hand-off they stay pending here, so the run continues as new and the next one drives them.
    for (const d of replayed(this.byId, plans)) if (!this.handingOff) this.launch(d);
    this.publish();
  }

  /** Stops launching attempts, interrupts the waiting ones (see processEvent's header): each drive then ends. */
  handOff(): void {
    this.handingOff = true;
    for (const d of this.byId.values()) {
      if (!d.active || d.local || !d.scope || d.interrupt === 'cancel') continue;
      d.interrupt = 'handoff';
      d.scope.cancel();
    }
  }

  private launch(d: Tracked): void {
    d.active = true;
    void this.drive(d).finally(() => {
      d.active = false;
      d.scope = null;
      const reopened = d.reopened;
      d.reopened = undefined;
      // (each publishes)
      if (reopened?.kind === 'replay') return this.replay([reopened.plan]);
      if (reopened?.kind === 'redrive' && d.status === 'failed') return this.redrive([d.deliveryId]);
      this.publish();
    });
  }

  /**
   * A redrive or replay of a delivery whose drive is under way: it ended in PostgreSQL (and was reopened
   * there) before this run took in the result that ended it, so it is carried out once that result is in.
   */
  private reopenOnEnd(d: Tracked, reopened: NonNullable<Tracked['reopened']>): void {
    if (applied(this.event.level, REDRIVE_WHILE_ENDING)) d.reopened = reopened;
  }

  private async drive(d: Tracked): Promise<void> {
    // Handed over by the previous run: its schedule goes on, first waiting out what was due.
    if (d.resumed) {
      d.resumed = false;
      if (d.nextAttemptAt && d.interrupt !== 'cancel' && (await this.waitForNextAttempt(d)) === 'done')
        return;
    }
    // A fresh schedule starts with a local attempt: on the happy path no activity task crosses the server.
    if (d.attemptCount === d.driveBase && !d.rateLimitPerSecond && d.interrupt === null) {
      if ((await this.firstAttempt(d)) === 'done') return;
    }
    // Retries cut short (retry-now) or cancelled wait for the attempt they interrupt to finish.
    const waitCancelled = applied(this.event.level, WAIT_FOR_CANCELLED_ATTEMPT);
    for (;;) {
      if (d.interrupt === 'cancel') return endCancelled(d);
      if (this.handingOff) return;
      d.interrupt = null;
      const scope = new CancellationScope();
      d.scope = scope;
      const remaining = Math.max(1, maxAttempts(d.policy) - (d.attemptCount - d.driveBase));
      const { deliverWebhook } = proxyActivities<Activities>(
        deliveryActivityOptions(d, remaining, waitCancelled),
      );
      let result: DeliverResult;
      try {
        result = await scope.run(() => deliverWebhook({ deliveryId: d.deliveryId, driveBase: d.driveBase }));
      } catch (err) {
        // Cancelled, or failed after the cancellation was requested (the server does not retry an activity
        // cancelled meanwhile: an attempt that failed, a wait for a send slot): what was asked decides.
        const interrupted = isCancellation(err) || err instanceof ActivityFailure;
        if (interrupted && d.interrupt === 'cancel') return endCancelled(d);
        if (interrupted && d.interrupt === 'handoff') return this.noteFailure(d, attemptFailure(err));
        if (interrupted && d.interrupt === 'retry') {
          this.noteFailure(d, attemptFailure(err));
          continue;
        }
        // Temporal gave up on waits for the breaker alone: nothing was spent, so drive on.
        if (breakerWaitsOnly(err) && applied(this.event.level, BREAKER_WAITS)) continue;
        // Temporal gave up (attempts spent by crashes, or a non-retryable fault): the dead letter.
        const message = err instanceof Error ? err.message : String(err);
        await bookkeeping(endSummary(d, 'failed')).finishDelivery({
          deliveryId: d.deliveryId,
          status: 'failed',
          reason: message,
        });
        d.status = 'failed';
        d.lastError = message;
        d.nextAttemptAt = null;
        return;
      }
      if ((await this.absorb(d, result)) === 'done') return;
      // Logged by the workflow (PostgreSQL was away during the attempt): wait out its delay here.
      if ((await this.waitForNextAttempt(d)) === 'done') return;
    }
  }

  /**
   * Takes an attempt's result: an attempt the activity could not log is logged now (a local activity that
   * never sends, retried until PostgreSQL is back). 'wait' when it failed with attempts left.
   */
  private async absorb(d: Tracked, result: DeliverResult): Promise<'done' | 'wait'> {
    const outcome: DeliverOutcome | RetryingOutcome =
      result.status === 'unrecorded'
        ? await CancellationScope.nonCancellable(() =>
            bookkeeping(logSummary(d)).recordDeliveryOutcome(result),
          )
        : result;
    this.progressed = true;
    if (outcome.status !== 'retrying') {
      settle(d, outcome);
      return 'done';
    }
    this.noteFailure(d, outcome);
    return 'wait';
  }

  private noteFailure(d: Tracked, failed: AttemptFailure | null): void {
    if (!failed) return;
    d.status = 'retrying';
    d.attemptCount = Math.max(d.attemptCount, failed.attempt);
    d.nextAttemptAt = failed.nextAttemptAt;
    d.lastError = failed.error;
    d.lastFailure = { statusCode: failed.statusCode, errorClass: failed.errorClass };
    d.dueNow = false;
    this.progressed = true;
    this.publish();
  }

  /** Waits until the next attempt is due; retry-now cuts it short, cancel ends the delivery. */
  private async waitForNextAttempt(d: Tracked): Promise<'done' | 'retries'> {
    // Handing off: the next run waits instead.
    if (this.handingOff) return 'done';
    const wait = new CancellationScope();
    d.scope = wait;
    try {
      // The timer's summary is what the Web UI shows for the wait: which delivery, after what, attempt n of m.
      const next = d.attemptCount - d.driveBase + 1;
      const summary = retryTimerSummary(d, d.lastFailure, next, maxAttempts(d.policy));
      await wait.run(() => sleep(Math.max(0, Date.parse(d.nextAttemptAt!) - Date.now()), { summary }));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      if (d.interrupt === 'cancel') {
        await endCancelled(d);
        return 'done';
      }
      if (d.interrupt === 'handoff') return 'done';
    }
    d.interrupt = null;
    return 'retries';
  }

  /**
   * The first attempt as a local activity. A failed attempt is waited out here (a timer retry-now can cut
   * short) and the retries continue as ordinary activities, whose waits cost the worker nothing.
   */
  private async firstAttempt(d: Tracked): Promise<'done' | 'retries'> {
    let result: DeliverResult;
    try {
      result = await startLocalAttempt(d, firstAttemptSummary(d, maxAttempts(d.policy)));
    } catch (err) {
      d.local = false;
      if (isCancellation(err) && d.interrupt === 'cancel') {
        await endCancelled(d);
        return 'done';
      }
      const failed = attemptFailure(err);
      // Not an attempt that failed (a fault, PostgreSQL away...): the ordinary activity retries it.
      if (!failed) return 'retries';
      d.quiet =
        quietFirstRetries(this.event.level) &&
        Date.parse(failed.nextAttemptAt) - Date.now() <= QUIET_RETRY_MS;
      this.noteFailure(d, failed);
      return d.quiet ? this.quietRetry(d) : this.waitForNextAttempt(d);
    }
    d.local = false;
    if ((await this.absorb(d, result)) === 'done') return 'done';
    return this.waitForNextAttempt(d);
  }

  /**
   * A first retry due within QUIET_RETRY_MS, in a run of level 1 (event-patches.ts): made locally too, the
   * failure published only if it fails as well. A delivery that fails once and succeeds on its next attempt
   * costs that timer and attempt alone, no search-attribute upsert.
   */
  private async quietRetry(d: Tracked): Promise<'done' | 'retries'> {
    if ((await this.waitForNextAttempt(d)) === 'done') return 'done';
    let next: 'done' | 'retries' | 'wait';
    try {
      const result = await startLocalAttempt(d, quietRetrySummary(d));
      d.local = false;
      next = await this.absorb(d, result);
    } catch (err) {
      d.local = false;
      const failed = attemptFailure(err);
      if (isCancellation(err) && d.interrupt === 'cancel') {
        await endCancelled(d);
        next = 'done';
      } else if (failed) {
        this.noteFailure(d, failed);
        next = 'wait';
      } else next = 'retries';
    }
    d.quiet = false;
    this.publish();
    return next === 'wait' ? this.waitForNextAttempt(d) : next;
  }

  private publish(): void {
    this.shown.show([...this.byId.values()]);
  }
}
