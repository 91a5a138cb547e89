import { z } from 'zod';
import { COMMISSION_RULES, DEAL_MODELS } from '../domain/commission/deals.js';
import {
  EXPLANATION_OUTCOMES,
  EXPLANATION_REASONS,
  type ExplanationReason,
} from '../domain/commission/explain.js';
import { EXTERNAL_ID_PATTERN } from '../domain/ids.js';
import { INBOUND_EVENT_TYPES } from '../domain/event-types.js';
import { eventTimeProblem } from '../domain/limits.js';
import { nulIssues } from './nul.js';
import {
  Currency,
  DecimalString,
  ExternalId,
  Lots,
  NonNegativeDecimal,
  PositiveDecimal,
  Timestamp,
} from './common.js';

/**
 * The inbound event envelope and the `data` each version-1 type requires (docs/api-v1.md section 3).
 * Envelopes are strict (a misspelt top-level field is an error); `data` keeps extra optional fields.
 */

const SubIds = z
  .record(z.string().regex(/^sub([1-9]|10)$/, 'sub-id keys are sub1..sub10'), z.string().max(512))
  .describe('Tracker sub-ids, sub1..sub10');

export const Attribution = z
  .object({
    affiliateId: ExternalId.describe('The affiliate the customer is bound to'),
    clickId: z.string().min(1).max(512).optional().describe("The tracker's click id"),
    subIds: SubIds.optional(),
  })
  .strict();
export type Attribution = z.infer<typeof Attribution>;

const text = (max = 256) => z.string().min(1).max(max);

const Instrument = z
  .string()
  .regex(/^[A-Za-z0-9._\-/]{1,32}$/, 'an instrument symbol such as "XAUUSD"')
  .describe('Instrument symbol, e.g. "XAUUSD"');

/**
 * Instruments a day of volume may list: a lot commission over all of them (lots x amount per lot each)
 * stays below the ledger's 10^20 (src/domain/limits.ts).
 */
export const MAX_DAILY_INSTRUMENTS = 50;

/** Per-type `data` schemas. Required fields are the contract's; anything else passes through. */
export const EVENT_DATA_SCHEMAS = {
  'customer.registered': z.looseObject({
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as "DE"')
      .describe('ISO 3166-1 alpha-2 country code, e.g. "DE"'),
  }),
  'customer.kyc_changed': z.looseObject({
    kycStatus: z.enum(['pending', 'verified', 'rejected', 'expired']).describe('The KYC status now'),
  }),
  'customer.status_changed': z.looseObject({
    status: z
      .enum(['active', 'blocked', 'closed', 'self_excluded', 'duplicate'])
      .describe('The account status now; `duplicate` stops CPA for the customer'),
    reason: text(512).describe('Why, in words'),
  }),
  'customer.fraud_flagged': z.looseObject({
    flag: text().describe('What was flagged, e.g. "multi-account"'),
    severity: z
      .enum(['low', 'medium', 'high'])
      .describe('`high` rejects the pending commissions of the customer'),
  }),
  'deposit.completed': z.looseObject({
    depositId: ExternalId.describe("The operator's deposit id"),
    amount: PositiveDecimal.describe('Decimal string, greater than zero'),
    currency: Currency.describe('ISO 4217, e.g. "EUR"'),
  }),
  'deposit.chargeback': z.looseObject({
    depositId: ExternalId.describe('The original deposit'),
    amount: PositiveDecimal.describe('Decimal string, greater than zero'),
    currency: Currency.describe('ISO 4217'),
    reason: text(512).describe('Why, in words'),
  }),
  'deposit.refunded': z.looseObject({
    depositId: ExternalId.describe('The original deposit'),
    amount: PositiveDecimal.describe('Decimal string, greater than zero'),
    currency: Currency.describe('ISO 4217'),
  }),
  'wagering.completed': z.looseObject({
    requirementId: ExternalId.describe('The wagering requirement met (CPA `requireWagering`)'),
  }),
  'revenue.daily': z
    .looseObject({
      date: z.iso.date().describe('The day, YYYY-MM-DD'),
      ggr: DecimalString.describe('Gross gaming revenue, decimal string (may be negative)'),
      bonuses: DecimalString.describe('Bonuses, decimal string'),
      fees: DecimalString.describe('Fees, decimal string'),
      ngr: DecimalString.describe(
        'Net gaming revenue, decimal string (may be negative): what RevShare reads',
      ),
      currency: Currency.describe('ISO 4217'),
    })
    .describe(
      'One figure per (customerId, date, currency): a later event for the same day, under a new id, is a ' +
        'correction that replaces the figure; RevShare books only the difference (a lower figure is netted ' +
        'against later revenue). Never the day twice.',
    ),
  'account.opened': z.looseObject({ accountId: ExternalId.describe('The trading account') }),
  'trade.closed': z.looseObject({
    tradeId: ExternalId.describe("The operator's trade id"),
    accountId: ExternalId.describe('The trading account'),
    instrument: Instrument,
    lots: Lots.describe('Decimal string, greater than zero'),
  }),
  'trading.volume_daily': z
    .looseObject({
      accountId: ExternalId.describe('The trading account'),
      date: z.iso.date().describe('The trading day, YYYY-MM-DD'),
      lots: z
        .record(Instrument, Lots)
        .refine((lots) => Object.keys(lots).length >= 1, 'must name at least one instrument')
        .refine(
          (lots) => Object.keys(lots).length <= MAX_DAILY_INSTRUMENTS,
          `must name at most ${MAX_DAILY_INSTRUMENTS} instruments`,
        )
        .describe(
          'Lots traded that day per instrument, each a decimal string greater than zero: {"EURUSD": "12.5"}',
        ),
      volume: PositiveDecimal.optional().describe(
        'Commission-eligible volume in money, decimal string; informational: lot deals pay on lots',
      ),
      currency: Currency.optional().describe('ISO 4217, the currency of `volume`; required with it'),
    })
    .refine((d) => (d.volume === undefined) === (d.currency === undefined), {
      message: 'volume and currency go together: give both or neither',
      path: ['currency'],
    })
    .describe(
      "One figure per (customerId, accountId, date): a lot deal with lotSource daily_volume pays the day's " +
        'lots like closed trades; a later event for the same account and day, under a new id, is a ' +
        'correction that replaces the figure and books only what it adds above what the day was paid ' +
        '(a lower figure books nothing). Never the day twice.',
    ),
  'challenge.purchased': z.looseObject({
    challengeId: ExternalId.describe('The challenge bought'),
    planId: ExternalId.describe('Its plan'),
    price: NonNegativeDecimal.describe('Decimal string, zero or more'),
    currency: Currency.describe('ISO 4217'),
  }),
  'challenge.phase_passed': z.looseObject({
    challengeId: ExternalId.describe('The challenge'),
    phase: z.int().min(1).max(100).describe('The phase passed'),
  }),
  'challenge.failed': z.looseObject({
    challengeId: ExternalId.describe('The challenge'),
    phase: z.int().min(1).max(100).describe('The phase failed'),
  }),
  'challenge.refunded': z.looseObject({
    challengeId: ExternalId.describe('The challenge refunded'),
    amount: PositiveDecimal.describe('Decimal string, greater than zero'),
    currency: Currency.describe('ISO 4217'),
  }),
  'funded_account.activated': z.looseObject({
    challengeId: ExternalId.describe('The challenge that earned it'),
    accountId: ExternalId.describe('The funded account'),
  }),
} as const satisfies Record<(typeof INBOUND_EVENT_TYPES)[number], z.ZodType>;

const envelope = {
  id: ExternalId.describe("The operator's event id; also the idempotency key"),
  occurredAt: Timestamp.describe('When it happened at the operator, RFC 3339'),
  brand: z.string().min(1).max(128).optional().describe('Brand or site within the operator'),
  customerId: z
    .string()
    .regex(EXTERNAL_ID_PATTERN, '1-128 characters of A-Z a-z 0-9 . _ : @ -')
    .describe("The operator's customer (player, trader) id"),
  attribution: Attribution.optional(),
};

function eventVariant<T extends keyof typeof EVENT_DATA_SCHEMAS>(type: T) {
  const shape = {
    ...envelope,
    type: z.literal(type),
    data: EVENT_DATA_SCHEMAS[type],
  };
  if (type === 'customer.registered') {
    return z.strictObject({ ...shape, attribution: Attribution.describe('Required on registration') });
  }
  return z.strictObject(shape);
}

const variants = INBOUND_EVENT_TYPES.map((type) => eventVariant(type));

export const EventIn = z
  .discriminatedUnion('type', variants as unknown as [(typeof variants)[number], ...typeof variants], {
    error: (issue) =>
      issue.code === 'invalid_union' ? `type must be one of: ${INBOUND_EVENT_TYPES.join(', ')}` : undefined,
  })
  // Batch items and inbound sources validate events with this schema alone: they get the route's NUL check here.
  .superRefine((event, ctx) => {
    for (const issue of nulIssues(event))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    // A date years ahead (a typo: 9999 for 2025) or before the epoch of the platform is refused here, never
    // left to stop the customer's settlement (src/domain/limits.ts).
    const timeProblem = eventTimeProblem(event.occurredAt, Date.now());
    if (timeProblem) ctx.addIssue({ code: 'custom', path: ['occurredAt'], message: timeProblem });
  })
  .meta({ id: 'EventIn' });
export type EventIn = z.infer<typeof EventIn>;

export const EventAcceptedOut = z
  .object({
    eventId: z.string(),
    status: z.literal('accepted'),
    duplicate: z.boolean(),
    workflowId: z.string(),
  })
  .meta({ id: 'EventAcceptedOut' });
export type EventAcceptedOut = z.infer<typeof EventAcceptedOut>;

/** Why an event earned what it did under one rule of the attributed affiliate's deal. */
export const EventEvaluation = z
  .object({
    affiliateId: z
      .string()
      .nullable()
      .describe('The affiliate the event is attributed to; null when none is'),
    dealModel: z.enum(DEAL_MODELS).nullable().describe("The affiliate's deal model; null without a deal"),
    rule: z
      .enum(COMMISSION_RULES)
      .nullable()
      .describe('The rule of the deal explained (a hybrid deal has two); null without a deal'),
    outcome: z
      .enum(EXPLANATION_OUTCOMES)
      .describe(
        'earned: a commission was booked; not_earned: the rule could pay on this event and did not; ' +
          'compensated: the event undid a commission; not_applicable: the rule does not pay on this ' +
          'type of event; pending_attribution: no affiliate with a deal yet; pending: judged once the ' +
          'operator sets a rate it needs (fx_rate_missing)',
      ),
    reason: z
      .enum(EXPLANATION_REASONS as [ExplanationReason, ...ExplanationReason[]])
      .describe(
        'Why, as a code: e.g. qualified, below_min_first_deposit, below_min_cumulative_deposits, ' +
          'fx_rate_missing (a deposit in another currency, no rate for its day yet), ' +
          'deposit_currency_differs (recorded before exchange rates), kyc_missing, wagering_missing, outside_window, ' +
          'country_not_eligible, deadline_passed, already_paid, affiliate_suspended, unattributed, ' +
          'no_deal, event_moves_no_commission, other_lot_source (a lot deal paying on the other source of ' +
          'lots), or the compensation reason (chargeback, ...)',
      ),
    detail: z
      .string()
      .describe(
        'One sentence with the figures, e.g. "first deposit 50.00 EUR; the CPA counts deposits in USD only"',
      ),
  })
  .meta({ id: 'EventEvaluation' });
export type EventEvaluation = z.infer<typeof EventEvaluation>;

export const EventOut = z
  .object({
    id: z.string(),
    type: z.string(),
    occurredAt: z.string(),
    receivedAt: z.string(),
    brand: z.string().nullable(),
    customerId: z.string(),
    attribution: Attribution.nullable().describe('As submitted'),
    effectiveAttribution: Attribution.nullable().describe('As submitted, or inherited from the registration'),
    data: z.record(z.string(), z.unknown()),
    status: z.enum(['received', 'processing', 'processed', 'failed']),
    processedAt: z.string().nullable(),
    derived: z.object({ ftd: z.boolean() }).describe('What the orchestrator derived from the event'),
    workflowId: z.string().describe("The event's own workflow (processEvent): `event:<operator>:<eventId>`"),
    customerWorkflowId: z
      .string()
      .nullable()
      .describe(
        "The customer's commission workflow (settleCustomer) that settles this event: " +
          '`customer:<operator>:<customerId>`; null for an event the commission engine does not read',
      ),
    sourceId: z
      .string()
      .nullable()
      .describe('The inbound source that sent the event; null when it came through the API'),
    deliveries: z.array(z.unknown()),
    commissions: z.array(z.unknown()),
    settlement: z
      .object({
        status: z
          .enum(['waiting', 'settled', 'parked'])
          .describe('parked: its settlement failed for good; fix the deal or data, then resettle it'),
        settledAt: z.string().nullable(),
        error: z.string().nullable().describe('Why it was parked'),
      })
      .nullable()
      .describe('How the commission engine took it; null for an event it does not read'),
    evaluation: z
      .array(EventEvaluation)
      .nullable()
      .describe(
        "Why it earned what it did, per rule of the attributed affiliate's deal, as its settlement judged " +
          'it; for a waiting event, why it waits (no affiliate attributed, or none set up). Null for an ' +
          'event the engine does not read, one waiting to settle, or one settled before explanations ' +
          'were recorded',
      ),
  })
  .meta({ id: 'EventOut' });

export const ResettleOut = z
  .object({
    eventId: z.string(),
    status: z.literal('resettling'),
    workflowId: z.string().describe("The customer's commission workflow, which settles it"),
  })
  .meta({ id: 'ResettleOut' });
export type EventOut = z.infer<typeof EventOut>;
