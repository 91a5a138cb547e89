/**
 * What the settleCustomer workflow (settle-customer.ts) knows of its customer between steps: the earliest
 * pending hold and how many are pending, the parked events, whether signalled events wait to be settled;
 * the steps (settlements, approval rounds, decisions) taken one at a time; what a run carries over
 * continue-as-new; and what it publishes (the `CommissionStatus` search attribute and the current details).
 */
import { condition, patched, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { CommissionStep } from '../activities/commissions.js';
import { SA } from '../src/domain/search-attributes.js';
import type { HoldView } from './definitions.js';

/** What a run carries over continue-as-new; all absent on a fresh start. */
export interface CarriedState {
  /** Carried over continue-as-new by runs before `nextHold`: the pending commissions' hold ends. */
  holds?: HoldView[];
  /** Carried over continue-as-new: the earliest pending commission's hold, and how many are pending. */
  nextHold?: HoldView | null;
  pending?: number;
  /** Carried over continue-as-new: events signalled and not yet settled. */
  unsettled?: boolean;
  /** Carried over continue-as-new: events parked and not re-settled since. */
  parked?: ParkedView[];
}

/** An event a settlement parked (src/commission/settle.ts): shown in the details until re-settled. */
export interface ParkedView {
  eventId: string;
  error: string;
}

/** The patch that publishes `CommissionStatus = 'parked'` while an event of the customer is parked. */
export const PARKED_STATUS = 'commission-parked-status';

export class CustomerState {
  // The earliest hold and a count, never the list: a trader's pending commissions would outgrow a payload.
  nextHold: HoldView | null;
  pending: number;
  parked: ParkedView[];
  /** Events signalled and not yet settled. */
  unsettled: boolean;
  /** A step is running. */
  busy = false;
  settlements = 0;
  booked = 0;
  private lastStatus: string | null = null;
  private published: string | null = null;

  constructor(
    private readonly customerId: string,
    carried: CarriedState,
  ) {
    this.nextHold = carried.nextHold !== undefined ? carried.nextHold : (carried.holds?.[0] ?? null);
    this.pending = carried.pending ?? carried.holds?.length ?? 0;
    this.parked = carried.parked ?? [];
    // A fresh start settles once: that is why it was started (or the signal that came with it).
    this.unsettled = carried.unsettled ?? true;
  }

  /** Runs one step at a time: settlements, approvals and decisions never overlap. */
  async exclusive<T>(step: () => Promise<T>): Promise<T> {
    await condition(() => !this.busy);
    this.busy = true;
    try {
      return await step();
    } finally {
      this.busy = false;
    }
  }

  /** Takes in what a step reports of the customer's commissions, and publishes it. */
  absorb(step: CommissionStep & { holds?: HoldView[] }): void {
    // Results recorded before `nextHold` carry the whole list.
    this.nextHold = step.nextHold !== undefined ? step.nextHold : (step.holds?.[0] ?? null);
    this.pending = step.pending ?? step.holds?.length ?? 0;
    // The customer's parked events as they stand (results recorded before parking existed have none).
    this.parked = step.parked ?? [];
    // A step that spent its time budget left events unsettled: settle again (absent in older results).
    if (step.more) this.unsettled = true;
    this.booked += step.booked.length;
    const last = step.booked[step.booked.length - 1];
    if (last) this.lastStatus = last.status;
    this.publish();
  }

  /** What the next run is given by continue-as-new. */
  carried(): CarriedState {
    return {
      nextHold: this.nextHold,
      pending: this.pending,
      unsettled: this.unsettled,
      ...(this.parked.length ? { parked: this.parked } : {}),
    };
  }

  /**
   * The `CommissionStatus` search attribute (`parked` while an event waits for an operator, else `pending`
   * while any is held) and the current details. Histories from before parking never have a parked event,
   * so they reach the patch never and replay as they were.
   */
  publish(): void {
    const status =
      this.parked.length && patched(PARKED_STATUS) ? 'parked' : this.nextHold ? 'pending' : this.lastStatus;
    if (status && status !== this.published) {
      this.published = status;
      upsertSearchAttributes([{ key: SA.CommissionStatus, value: status }]);
    }
    setCurrentDetails(
      [
        ...(this.parked.length
          ? [
              `**Events parked** (up to 20 listed): their settlement fails for good until fixed; fix the deal or`,
              'the data, then `POST /v1/events/{id}/resettle`.',
              ...this.parked.map((p) => `- \`${p.eventId}\`: ${p.error}`),
              '',
            ]
          : []),
        `Commissions of customer \`${this.customerId}\`: ${this.pending} pending.`,
        ...(this.nextHold
          ? [`The earliest, \`${this.nextHold.commissionId}\`, is held until ${this.nextHold.holdUntil}.`]
          : []),
      ].join('\n'),
    );
  }
}
