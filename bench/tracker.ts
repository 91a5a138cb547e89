import { countBetween } from './stats.js';

/**
 * What the bench knows about every event it sent: when it was sent and accepted (per its sender), and when
 * each of its deliveries reached a receiver. An event is delivered when every endpoint it was expected at
 * has answered 200 to one webhook-id for it; further 200s to the same webhook-id are duplicates.
 */
export type ShapeName = 'product' | 'best' | 'naive' | 'ceiling';

export interface TrackedEvent {
  id: string;
  shape: ShapeName;
  phase: string;
  /** Deliveries expected (endpoints per event). */
  expected: number;
  sentAt: number;
  acceptedAt: number | null;
  /** HTTP status of the accept (product), 0 for a transport error, 1 for a baseline start that failed. */
  acceptStatus: number | null;
  acceptMs: number | null;
  paths: Set<string>;
  deliveredAt: number | null;
}

interface Timeline {
  accepted: number[];
  delivered: number[];
}

export class Tracker {
  readonly events = new Map<string, TrackedEvent>();
  private readonly timelines = new Map<ShapeName, Timeline>();
  /** webhook-id -> number of 200 answers. */
  private readonly webhooks = new Map<string, number>();
  /** Per path: 200 answers to webhook-ids no tracked event owns (the ceiling loop). */
  readonly untracked = new Map<string, number>();
  duplicates = 0;
  /** A second webhook-id for one (event, endpoint): the same event delivered twice under different ids. */
  duplicateDeliveries = 0;

  timeline(shape: ShapeName): Timeline {
    let t = this.timelines.get(shape);
    if (!t) {
      t = { accepted: [], delivered: [] };
      this.timelines.set(shape, t);
    }
    return t;
  }

  sent(id: string, shape: ShapeName, phase: string, expected: number, at: number): TrackedEvent {
    const ev: TrackedEvent = {
      id,
      shape,
      phase,
      expected,
      sentAt: at,
      acceptedAt: null,
      acceptStatus: null,
      acceptMs: null,
      paths: new Set(),
      deliveredAt: null,
    };
    this.events.set(id, ev);
    return ev;
  }

  accepted(ev: TrackedEvent, status: number, at: number, acceptMs: number): void {
    ev.acceptStatus = status;
    ev.acceptMs = acceptMs;
    if (isAccepted(status)) {
      ev.acceptedAt = at;
      this.timeline(ev.shape).accepted.push(at);
    }
  }

  /** A receiver answered 200; returns false for a duplicate. */
  delivery(path: string, webhookId: string, eventId: string | undefined, at: number): boolean {
    const seen = this.webhooks.get(webhookId) ?? 0;
    this.webhooks.set(webhookId, seen + 1);
    if (seen > 0) {
      this.duplicates++;
      return false;
    }
    const ev = eventId === undefined ? undefined : this.events.get(eventId);
    if (!ev) {
      this.untracked.set(path, (this.untracked.get(path) ?? 0) + 1);
      return true;
    }
    if (ev.paths.has(path)) {
      this.duplicateDeliveries++;
      return false;
    }
    ev.paths.add(path);
    if (ev.paths.size === ev.expected) {
      ev.deliveredAt = at;
      this.timeline(ev.shape).delivered.push(at);
    }
    return true;
  }

  /** Accepted minus delivered events of a shape at a moment (its backlog). */
  backlogAt(shape: ShapeName, at: number): number {
    const t = this.timeline(shape);
    return countBetween(t.accepted, -Infinity, at) - countBetween(t.delivered, -Infinity, at);
  }

  acceptedBetween(shape: ShapeName, from: number, to: number): number {
    return countBetween(this.timeline(shape).accepted, from, to);
  }

  deliveredBetween(shape: ShapeName, from: number, to: number): number {
    return countBetween(this.timeline(shape).delivered, from, to);
  }

  ofPhase(phase: string): TrackedEvent[] {
    return [...this.events.values()].filter((e) => e.phase === phase);
  }

  /** Accepted events of the phase that are not delivered yet. */
  pending(phase: string): number {
    let n = 0;
    for (const e of this.events.values())
      if (e.phase === phase && e.acceptedAt !== null && e.deliveredAt === null) n++;
    return n;
  }
}

export function isAccepted(status: number): boolean {
  return status === 202 || status === 200;
}
