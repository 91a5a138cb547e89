import { postbackMeaning } from './meaning.js';
import {
  isPostbackStatus,
  isReversal,
  type PostbackStatus,
  type PostbackValuesInput,
  type SubIdKey,
} from './values.js';

/**
 * What a postback reports about one stored event: the bridge from an event as the orchestrator keeps it to
 * the explicit input of postbackValues. Pure, so a redrive, which re-renders from the same stored event,
 * sends the same transaction id.
 *
 * - Every event: `{event}` is the delivered type, `{event_id}` the event's id, `{timestamp}` when it
 *   occurred, `{customer_id}`, the effective attribution (`{affiliate_id}`, `{click_id}`, `{sub1}`..), and
 *   `{country}` from the event's data, else the customer's recorded country.
 * - Operator events carry no commission, so no `{status}` and no `{payout}`: both render empty (and are
 *   noted missing), and the tracker applies its own default. `{amount}` is the event's own money (`amount`,
 *   or a challenge's `price`), `{currency}` and `{amount_currency}` its currency; `{lots}`, `{instrument}`,
 *   `{challenge_id}` and `{phase}` come from the data fields of those names.
 * - Commission events (`commission.accrued|approved|rejected|reversed`): `{payout}` and `{currency}` are the
 *   entry's amount and currency, `{status}` its status through the status map. An accrual or approval is
 *   the conversion itself, so `{event_id}` is the conversion event's id (the transaction id the tracker got
 *   with the `deposit.ftd` postback); a rejection or reversal has its own `{event_id}` (this notification's
 *   event id) and names the conversion in `{original_event_id}`. `{event}` is the conversion's type
 *   (`deposit.ftd` for a first deposit), the same for every step of one commission, so trackers that key
 *   conversions by type update one conversion instead of counting several.
 * - An operator's negative event (`deposit.chargeback`, `deposit.refunded`, `challenge.refunded`) is a
 *   reversal too: status `reversed`, its own `{event_id}`, the conversion it undoes (the deposit or the
 *   challenge purchase, `conversion`) in `{original_event_id}` and `{conversion_id}`, that conversion's type
 *   in `{event}`, and `{amount}` the money taken back.
 */
export interface PostbackEventView {
  /** The stored event's id: the operator's, or the orchestrator's own for an event it emitted. */
  eventId: string;
  /** The type this delivery carries (`deposit.ftd` for a first deposit's second delivery). */
  deliveredType: string;
  /** RFC 3339. */
  occurredAt: string;
  customerId?: string | null;
  /** The event's effective attribution: its own, else the one its customer is bound to. */
  attribution?: Record<string, unknown> | null;
  data: Record<string, unknown>;
  /** The customer's country as recorded at registration, when known. */
  customerCountry?: string | null;
  /**
   * For a commission event: the stored event that earned the commission; for an operator's negative event:
   * the conversion it undoes (with its id). When it could be found.
   */
  conversion?: { type: string; ftd: boolean; eventId?: string } | null;
}

const COMMISSION_STATUS_OF_TYPE: Readonly<Record<string, PostbackStatus>> = {
  'commission.accrued': 'pending',
  'commission.approved': 'approved',
  'commission.rejected': 'rejected',
  'commission.reversed': 'reversed',
};

/**
 * True for the notifications the commission engine emits (`commission.accrued|approved|rejected|reversed`),
 * whose data is a commission ledger entry. Not the inbound events the engine reads (isCommissionEventType,
 * src/domain/commission/facts.ts).
 */
export function isCommissionNotificationType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(COMMISSION_STATUS_OF_TYPE, type);
}

/** The type a tracker knows a conversion by: a first deposit is the FTD. */
export function conversionTypeOf(conversion: { type: string; ftd: boolean }): string {
  return conversion.type === 'deposit.completed' && conversion.ftd ? 'deposit.ftd' : conversion.type;
}

/** The input of postbackValues for one delivery of a stored event; see {@link PostbackEventView}. */
export function postbackInputFromEvent(e: PostbackEventView): PostbackValuesInput {
  const data = e.data;
  const common = {
    occurredAt: e.occurredAt,
    customerId: text(e.customerId) ?? text(data.customerId),
    attribution: attributionOf(e.attribution, data),
    country: text(data.country) ?? text(e.customerCountry),
    currency: text(data.currency),
    lots: text(data.lots),
    instrument: text(data.instrument),
    challengeId: text(data.challengeId),
    phase: text(data.phase),
  };

  if (isCommissionNotificationType(e.deliveredType)) {
    const own = text(data.status);
    const status = own !== null && isPostbackStatus(own) ? own : COMMISSION_STATUS_OF_TYPE[e.deliveredType]!;
    const conversionEventId = text(data.conversionEventId);
    return {
      ...common,
      eventId: isReversal(status) ? e.eventId : (conversionEventId ?? e.eventId),
      originalEventId: isReversal(status) ? conversionEventId : null,
      eventType: e.conversion ? conversionTypeOf(e.conversion) : e.deliveredType,
      status,
      payout: text(data.amount),
    };
  }

  const reversal = postbackMeaning(e.deliveredType) === 'reversal';
  return {
    ...common,
    eventId: e.eventId,
    originalEventId: reversal ? (e.conversion?.eventId ?? null) : null,
    eventType: reversal && e.conversion ? conversionTypeOf(e.conversion) : e.deliveredType,
    status: reversal ? 'reversed' : null,
    amount: text(data.amount) ?? text(data.price),
    amountCurrency: text(data.currency),
  };
}

function attributionOf(
  attribution: Record<string, unknown> | null | undefined,
  data: Record<string, unknown>,
): PostbackValuesInput['attribution'] {
  const subIds: Partial<Record<SubIdKey, string>> = {};
  const given = attribution?.subIds;
  if (given !== null && typeof given === 'object') {
    for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
      const v = text(value);
      if (/^sub([1-9]|10)$/.test(key) && v !== null) subIds[key as SubIdKey] = v;
    }
  }
  return {
    // A commission entry names its affiliate even when the customer's attribution is not at hand.
    affiliateId: text(attribution?.affiliateId) ?? text(data.affiliateId),
    clickId: text(attribution?.clickId),
    subIds,
  };
}

/** A string as it is, a finite number or a bigint as its decimal text; anything else is no value. */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'bigint') return String(value);
  return null;
}
