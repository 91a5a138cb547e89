import { ALL_EVENT_TYPES, isOperationalEventType } from '../event-types.js';
import { matchesEventType } from '../matching.js';
import type { MacroName, ParsedTemplate } from './macros.js';
import type { ResolvedPostbackConfig } from './presets.js';

/**
 * What each event type of the catalogue means to a tracker, and whether a postback endpoint's settings can
 * say it. A postback tells a tracker one of two things: a conversion happened, or a conversion it counted
 * is undone. Anything sent through the conversion template is booked as a conversion, so an event that
 * undoes one (a chargeback, a refund) must go out as the endpoint's reversal, and an event that is neither
 * (a KYC change, a daily revenue figure) must not go out at all.
 */

export type PostbackMeaning = 'conversion' | 'reversal';

/** Types a tracker counts as a conversion (commission accruals and approvals name theirs). */
const CONVERSION_TYPES: ReadonlySet<string> = new Set([
  'customer.registered',
  'deposit.completed',
  'deposit.ftd',
  'wagering.completed',
  'account.opened',
  'trade.closed',
  'challenge.purchased',
  'challenge.phase_passed',
  'funded_account.activated',
  'commission.accrued',
  'commission.approved',
]);

/** Negative types: each undoes a conversion the tracker may already have counted. */
const REVERSAL_TYPES: ReadonlySet<string> = new Set([
  'deposit.chargeback',
  'deposit.refunded',
  'challenge.refunded',
  'commission.rejected',
  'commission.reversed',
]);

/** Why the other business types mean nothing to a tracker. */
const NO_MEANING: Readonly<Record<string, string>> = {
  'customer.kyc_changed': 'a KYC change is neither a conversion nor the undoing of one',
  'customer.status_changed': 'a status change is neither a conversion nor the undoing of one',
  'customer.fraud_flagged':
    'a fraud flag is neither a conversion nor the undoing of one (the commissions it rejects ' +
    'reach the tracker as commission.rejected and commission.reversed)',
  'revenue.daily':
    "a day's revenue figure is not a conversion: each day would be booked as one (RevShare reaches the " +
    'tracker as commission.* events)',
  'trading.volume_daily':
    "a day's trading volume is not a conversion: each day would be booked as one (lot commissions reach " +
    'the tracker as commission.* events)',
  'challenge.failed': 'a failed challenge is neither a conversion nor the undoing of one',
  'affiliate.created': 'it is about an affiliate account, not a customer: there is no click to book it on',
  'affiliate.updated': 'it is about an affiliate account, not a customer: there is no click to book it on',
  'affiliate.status_changed':
    'it is about an affiliate account, not a customer: there is no click to book it on',
};

/** `webhook.test` is sent only by `POST /v1/endpoints/{id}/test`, through the template, to see what arrives. */
const TEST_TYPE = 'webhook.test';

/** The meaning of an event type to a tracker; null when it has none (or is not in the catalogue). */
export function postbackMeaning(type: string): PostbackMeaning | null {
  if (CONVERSION_TYPES.has(type)) return 'conversion';
  if (REVERSAL_TYPES.has(type)) return 'reversal';
  return null;
}

/**
 * The conversions an operator's negative event can undo (undoneConversionKey's types): retention keeps them,
 * with their deliveries, long enough for a late chargeback or refund to be rendered as their reversal.
 */
export const UNDOABLE_CONVERSION_TYPES = ['deposit.completed', 'challenge.purchased'] as const;

/**
 * For an operator's negative event, the conversion it undoes, found among the customer's events: the
 * deposit of the same `depositId`, the challenge purchase of the same `challengeId`. Null for other types
 * (a commission notification names its conversion itself) or when the key is missing.
 */
export function undoneConversionKey(
  type: string,
  data: Record<string, unknown>,
): { type: string; field: string; value: string } | null {
  const key = (conversionType: string, field: string) => {
    const value = data[field];
    return typeof value === 'string' && value !== '' ? { type: conversionType, field, value } : null;
  };
  if (type === 'deposit.chargeback' || type === 'deposit.refunded')
    return key('deposit.completed', 'depositId');
  if (type === 'challenge.refunded') return key('challenge.purchased', 'challengeId');
  return null;
}

/**
 * How an endpoint tells its tracker that a conversion is undone: at a reversal URL of its own, by sending
 * the conversion again with its rejected status, or by a new transaction whose money is negative.
 */
export type ReversalStyle = 'reversal-url' | 'status' | 'negative-money';

export type PostbackCarriage =
  | { carried: true; meaning: 'conversion' | 'test' }
  | { carried: true; meaning: 'reversal'; style: ReversalStyle }
  | { carried: false; reason: string };

/**
 * Whether an endpoint with these settings can send `type`, and as what. A negative type needs a reversal
 * the tracker understands: a reversal URL, `{status}` in the template (the status map's word for
 * `reversed`), or `negativePayoutOnReversal` with the money the event carries in the template (`{payout}`
 * for a commission, `{amount}` for an operator's chargeback or refund). Without one, it would reach the
 * tracker as a new conversion, so it is not carried.
 */
export function postbackCarriage(config: ResolvedPostbackConfig, type: string): PostbackCarriage {
  if (type === TEST_TYPE) return { carried: true, meaning: 'test' };
  const meaning = postbackMeaning(type);
  if (meaning === 'conversion') return { carried: true, meaning };
  if (meaning === 'reversal') {
    const style = reversalStyle(config, type);
    if (style) return { carried: true, meaning, style };
    return { carried: false, reason: noReversalReason(config, type) };
  }
  if (isOperationalEventType(type)) {
    return {
      carried: false,
      reason:
        `${type} is about the delivery machinery, not a customer; a tracker would book it as a conversion. ` +
        'Subscribe a webhook endpoint to it',
    };
  }
  const why = NO_MEANING[type];
  if (why === undefined) {
    return {
      carried: false,
      reason: `${type} is not an event type of the catalogue: a tracker has no use for it`,
    };
  }
  return {
    carried: false,
    reason: `${type} means nothing to a tracker: ${why}; sent as a postback it would be booked as a conversion. Subscribe a webhook endpoint to it`,
  };
}

function reversalStyle(config: ResolvedPostbackConfig, type: string): ReversalStyle | null {
  if (config.reversalTemplate) return 'reversal-url';
  if (usesMacro(config, 'status')) return 'status';
  if (config.negativePayoutOnReversal && usesMacro(config, moneyMacro(type))) return 'negative-money';
  return null;
}

/** The macro carrying a negative event's money: a commission's payout, else the event's own amount. */
function moneyMacro(type: string): MacroName {
  return type.startsWith('commission.') ? 'payout' : 'amount';
}

function usesMacro(config: ResolvedPostbackConfig, name: MacroName): boolean {
  const has = (t: ParsedTemplate) => t.parts.some((p) => p.kind === 'macro' && p.name === name);
  return has(config.template) || (config.body !== null && has(config.body.template));
}

function noReversalReason(config: ResolvedPostbackConfig, type: string): string {
  const money = `{${moneyMacro(type)}}`;
  const whose = config.preset ? `the ${config.preset} preset's template` : 'its template';
  const lacks = config.negativePayoutOnReversal
    ? `there is no reversalTemplate, ${whose} has no {status}, and its reversals are negative money, but ` +
      `${whose} has no ${money}` +
      (money === '{amount}'
        ? ' (a chargeback or refund carries no {payout}: commission.rejected and commission.reversed do)'
        : '')
    : `there is no reversalTemplate, ${whose} has no {status}, and negativePayoutOnReversal is off`;
  return (
    `${type} undoes a conversion, and this endpoint has no reversal for it: ${lacks}; sent anyway, the ` +
    `tracker would book it as a new conversion. Add postback.reversalTemplate (the URL your tracker takes ` +
    `reversals at), or {status} to the template, or ${money} with negativePayoutOnReversal; or leave ${type} out`
  );
}

export interface SubscriptionExpansion {
  /** The types the endpoint will be sent, in catalogue order. */
  delivered: string[];
  /** The types its patterns match but it will not be sent, each with why. */
  excluded: { eventType: string; reason: string }[];
}

/** What an endpoint's patterns (`deposit.*`, `*`, exact types) deliver and leave out, with these settings. */
export function expandSubscription(
  config: ResolvedPostbackConfig,
  patterns: readonly string[],
): SubscriptionExpansion {
  const out: SubscriptionExpansion = { delivered: [], excluded: [] };
  for (const type of ALL_EVENT_TYPES) {
    if (type === TEST_TYPE || !matchesEventType(patterns, type)) continue;
    const carriage = postbackCarriage(config, type);
    if (carriage.carried) out.delivered.push(type);
    else out.excluded.push({ eventType: type, reason: carriage.reason });
  }
  return out;
}

/**
 * The subscription problems of a postback endpoint, by the index of the pattern at fault: an exact type it
 * cannot carry, or a wildcard that matches nothing it can. A wildcard that matches some types it cannot
 * carry is fine: those are left out, and expandSubscription says which and why.
 */
export function subscriptionIssues(
  config: ResolvedPostbackConfig,
  patterns: readonly string[],
): { index: number; message: string }[] {
  const issues: { index: number; message: string }[] = [];
  patterns.forEach((pattern, index) => {
    if (!pattern.includes('*')) {
      const carriage = postbackCarriage(config, pattern);
      if (!carriage.carried) issues.push({ index, message: carriage.reason });
      return;
    }
    const { delivered, excluded } = expandSubscription(config, [pattern]);
    if (delivered.length > 0) return;
    issues.push({
      index,
      message: excluded.length
        ? `${pattern} matches nothing this endpoint can send to a tracker: ${excluded.map((e) => e.reason).join('; ')}`
        : `${pattern} matches no event type of the catalogue`,
    });
  });
  return issues;
}
