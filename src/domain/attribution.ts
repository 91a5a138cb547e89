/**
 * Attribution inheritance: which affiliate an event is credited to. Pure rules; the transaction that
 * applies an event (activities/apply-event.ts) reads and writes the rows around them.
 *
 * - An event that carries its own attribution keeps it.
 * - Otherwise it inherits its customer's: the attribution of the customer's registration, bound to the
 *   customer once, by the first registration that carries one.
 * - Events of one customer run in parallel workflows, so a deposit sent a few milliseconds after its
 *   registration can be applied first. The registration is recorded by then (an event is accepted only once
 *   stored), so a customer that is still unbound is bound now by the earliest recorded registration, and the
 *   deposit inherits exactly what it would have had the registration been applied first.
 * - Events the orchestrator emits itself (operational events) belong to no customer: they bind nothing.
 */

export type Attribution = Record<string, unknown>;

/** An event as these rules read it. */
export interface AttributableEvent {
  eventId: string;
  type: string;
  occurredAt: Date;
  payload: { attribution?: Attribution | null | undefined; data: Record<string, unknown> };
}

/** What binding a customer to a registration records on the customer. */
export interface CustomerBinding {
  attribution: Attribution;
  /** The registration that bound it. */
  byEventId: string;
  /** The country the registration reports (whatever it sent; null when none). */
  country: unknown;
  registeredAt: Date;
}

/** The customer is still unbound: the event must find the registration that binds it. */
export function needsBinding(inbound: boolean, customerAttribution: Attribution | null): boolean {
  return inbound && !customerAttribution;
}

/** The event is a registration that carries an attribution: it binds its customer itself. */
export function isBindingRegistration(event: AttributableEvent): boolean {
  return event.type === 'customer.registered' && !!event.payload.attribution;
}

/** What a registration binds its customer to; null when it carries no attribution (or there is none). */
export function bindingOf(registration: AttributableEvent | null | undefined): CustomerBinding | null {
  const attribution = registration?.payload.attribution;
  if (!registration || !attribution) return null;
  return {
    attribution,
    byEventId: registration.eventId,
    country: registration.payload.data.country ?? null,
    registeredAt: registration.occurredAt,
  };
}

/** The attribution an event is credited with: its own, else its customer's, else none. */
export function effectiveAttribution(
  eventAttribution: Attribution | null | undefined,
  customerAttribution: Attribution | null,
): Attribution | null {
  return eventAttribution ?? customerAttribution ?? null;
}

/** The affiliate an attribution names, when it names one. */
export function attributedAffiliateId(attribution: Attribution | null): string | null {
  const id = attribution?.affiliateId;
  return typeof id === 'string' ? id : null;
}
