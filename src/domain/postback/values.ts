import type { MacroValues } from './macros.js';

/**
 * The values a postback's macros take, built from a small explicit input. Money stays a decimal string from
 * end to end: it is never parsed into a JS number, and a reversal's sign is flipped by editing the string.
 */

/** Our commission statuses, the keys of every status map. */
export const POSTBACK_STATUSES = ['pending', 'approved', 'rejected', 'reversed'] as const;
export type PostbackStatus = (typeof POSTBACK_STATUSES)[number];

export function isPostbackStatus(value: string): value is PostbackStatus {
  return (POSTBACK_STATUSES as readonly string[]).includes(value);
}

/** Our status -> the tracker's word for it; a status left out is sent as our own word. */
export type StatusMap = Partial<Record<PostbackStatus, string>>;

/** A rejection or a reversal undoes a conversion the tracker may already have counted. */
export function isReversal(status: PostbackStatus | null | undefined): boolean {
  return status === 'rejected' || status === 'reversed';
}

export type SubIdKey =
  'sub1' | 'sub2' | 'sub3' | 'sub4' | 'sub5' | 'sub6' | 'sub7' | 'sub8' | 'sub9' | 'sub10';

/** What one postback reports. Absent or null fields leave their macros empty (and reported as missing). */
export interface PostbackValuesInput {
  /** This postback's own id, unique per postback: the conversion's event id, or the reversal's own. */
  eventId: string;
  /** For a rejection or reversal, the event id of the conversion undone. */
  originalEventId?: string | null;
  /** The conversion's event type (`deposit.ftd`); for a reversal, the type of the conversion undone. */
  eventType: string;
  /** Our commission status; mapped through the status map into `{status}`. */
  status?: PostbackStatus | null;
  /** RFC 3339; becomes `{timestamp}` in unix seconds. */
  occurredAt: string;
  customerId?: string | null;
  attribution?: {
    affiliateId?: string | null;
    clickId?: string | null;
    subIds?: Partial<Record<SubIdKey, string | null>> | null;
  } | null;
  country?: string | null;
  /**
   * The commission as a decimal string, as booked: the reversal entry may already be negative. For a
   * rejection or reversal, its magnitude is sent, negated when `negativePayoutOnReversal` is set.
   */
  payout?: string | null;
  /** Currency of the payout. */
  currency?: string | null;
  /**
   * The event's own money (deposit, price, refund) as a decimal string, sent as it is; for a rejection or
   * reversal (a chargeback, a refund), its magnitude, negated when `negativePayoutOnReversal` is set.
   */
  amount?: string | null;
  amountCurrency?: string | null;
  /** Decimal string. */
  lots?: string | null;
  instrument?: string | null;
  challengeId?: string | null;
  phase?: string | null;
}

export interface PostbackValueOptions {
  statusMap: StatusMap;
  /**
   * Send a rejection or reversal with a negative payout, and an operator's chargeback or refund with a
   * negative amount (trackers that net instead of updating a status).
   */
  negativePayoutOnReversal: boolean;
}

const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/** A decimal string as the contract spells money and lots: optional `-`, digits, optional fraction. */
export function isDecimal(value: string): boolean {
  return DECIMAL.test(value);
}

/**
 * Flip the sign of a decimal string by editing it: `"50.00"` -> `"-50.00"`, `"-1"` -> `"1"`. Zero, however
 * written, comes back unsigned (`"0.00"`, `"-0"` -> `"0"`). Throws RangeError on anything else.
 */
export function negateDecimal(value: string): string {
  const magnitude = absDecimal(value);
  if (isZero(magnitude) || value.startsWith('-')) return magnitude;
  return `-${magnitude}`;
}

/** The magnitude of a decimal string: `"-50.00"` -> `"50.00"`. Throws RangeError on a non-decimal. */
export function absDecimal(value: string): string {
  if (!isDecimal(value)) throw new RangeError(`not a decimal string: ${JSON.stringify(value)}`);
  return value.startsWith('-') ? value.slice(1) : value;
}

function isZero(unsigned: string): boolean {
  return /^[0.]+$/.test(unsigned);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Unix seconds (floored) of an RFC 3339 timestamp, or null when it is not one. */
export function unixSeconds(rfc3339: string): string | null {
  const upper = rfc3339.toUpperCase();
  if (!RFC3339.test(upper)) return null;
  const ms = Date.parse(upper);
  return Number.isNaN(ms) ? null : String(Math.floor(ms / 1000));
}

/**
 * Build the macro values for one postback. `{status}` is our status through the map (our own word when the
 * map has none); `{conversion_id}` names the conversion the tracker knows: the original on a rejection or
 * reversal, this event otherwise. A money or lots field that is not a decimal string is left out (so it is
 * reported missing) rather than sent half-right.
 */
export function postbackValues(input: PostbackValuesInput, options: PostbackValueOptions): MacroValues {
  const values: MacroValues = {};
  const set = (name: keyof MacroValues, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') values[name] = value;
  };
  const reversal = isReversal(input.status);

  set('event_id', input.eventId);
  set('original_event_id', input.originalEventId);
  set('conversion_id', reversal ? input.originalEventId : input.eventId);
  set('event', input.eventType);
  if (input.status) set('status', options.statusMap[input.status] ?? input.status);
  set('timestamp', unixSeconds(input.occurredAt));
  set('customer_id', input.customerId);
  set('affiliate_id', input.attribution?.affiliateId);
  set('click_id', input.attribution?.clickId);
  for (const [key, value] of Object.entries(input.attribution?.subIds ?? {})) {
    if (/^sub([1-9]|10)$/.test(key)) set(key as SubIdKey, value);
  }
  set('country', input.country);

  if (input.payout != null && isDecimal(input.payout)) {
    let payout = input.payout;
    if (reversal) {
      payout = absDecimal(payout);
      if (options.negativePayoutOnReversal) payout = negateDecimal(payout);
    }
    set('payout', payout);
  }
  set('currency', input.currency);
  if (input.amount != null && isDecimal(input.amount)) {
    // An operator's chargeback or refund: the money it takes back, negative for trackers that net.
    let amount = input.amount;
    if (reversal) {
      amount = absDecimal(amount);
      if (options.negativePayoutOnReversal) amount = negateDecimal(amount);
    }
    set('amount', amount);
  }
  set('amount_currency', input.amountCurrency);
  if (input.lots != null && isDecimal(input.lots)) set('lots', input.lots);
  set('instrument', input.instrument);
  set('challenge_id', input.challengeId);
  set('phase', input.phase);
  return values;
}
