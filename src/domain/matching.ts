/**
 * Which endpoints receive which events: subscriptions are exact types, `prefix.*`, or `*`, optionally scoped
 * to one affiliate. Pure; the same rule is expressed in SQL in src/db/endpoints.ts for the fan-out query.
 *
 * `*` means every business event, not the operational ones (`delivery.*`, `endpoint.*`): those tell about
 * the delivery machinery, so they reach only endpoints that name them (the exact type or its prefix). A
 * partner's catch-all endpoint never learns about another partner's failing endpoint.
 */
import { isOperationalEventType } from './event-types.js';

/** A subscription pattern is `*`, `prefix.*`, or an exact type of lowercase words joined by dots. */
export const EVENT_TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some(
    (p) =>
      (p === '*' && !isOperationalEventType(type)) ||
      p === type ||
      (p.endsWith('.*') && type.startsWith(p.slice(0, -1))),
  );
}

export interface Subscription {
  eventTypes: readonly string[];
  affiliateId: string | null;
  enabled: boolean;
}

/** An enabled endpoint receives an event type when a pattern matches and any affiliate scope agrees. */
export function subscribes(s: Subscription, type: string, affiliateId: string | null | undefined): boolean {
  if (!s.enabled || !matchesEventType(s.eventTypes, type)) return false;
  return s.affiliateId === null || s.affiliateId === affiliateId;
}
