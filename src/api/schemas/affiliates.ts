import { z } from 'zod';
import type { Affiliate, Commission } from '../../db/ledger.js';
import { dealProblems, LOT_SOURCES, type Deal } from '../../domain/commission/deals.js';
import { isDuration } from '../../domain/duration.js';
import { Currency, ExternalId, NonNegativeDecimal, PositiveDecimal } from '../../contract/common.js';
import { FxUsedOut } from './fx-rates.js';

/** Affiliates, deals and commissions (docs/api-v1.md section 6). Shapes here; meaning checked by `dealProblems`. */

const Duration = z.string().refine(isDuration, 'a duration such as "30d", "2h" or "500ms"');
const Percent = NonNegativeDecimal.refine((v) => Number(v) <= 100, 'a percent from "0" to "100"');
const Country = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as "DE"');
const Days = z.number().int().min(1).max(3650);

const Timing = {
  holdPeriod: Duration.describe('From the commission\'s event time until it is approved, e.g. "30d"'),
  clawbackWindow: Duration.describe("From the commission's event time until an approved one can be reversed"),
};

const Qualification = z.strictObject({
  minFirstDeposit: NonNegativeDecimal.optional(),
  minCumulativeDeposits: NonNegativeDecimal.optional(),
  windowDays: Days.optional().describe('Only deposits within this many days of registration count'),
  requireKyc: z.boolean().optional(),
  requireWagering: z.boolean().optional(),
  countries: z.array(Country).max(300).optional(),
  deadlineDays: Days.optional().describe('The customer must qualify within this many days of registration'),
});

const CpaTerms = {
  amount: PositiveDecimal,
  currency: Currency,
  qualification: Qualification.default({}),
};

const RevshareTerms = {
  percent: Percent,
  tiers: z
    .array(z.strictObject({ fromNgr: NonNegativeDecimal, percent: Percent }))
    .max(20)
    .optional()
    .describe('By month-to-date NGR, ascending'),
  negativeCarryover: z.boolean().default(false),
};

const MilestonePay = {
  percent: Percent.optional().describe(
    "Of the challenge's price (its `challenge.purchased`), in its currency",
  ),
  amount: PositiveDecimal.optional().describe('A fixed amount instead, with currency'),
  currency: Currency.optional(),
};
const paysOnce = (m: { percent?: string; amount?: string; currency?: string }) =>
  m.percent === undefined
    ? m.amount !== undefined && m.currency !== undefined
    : m.amount === undefined && m.currency === undefined;

/** A milestone of a challenge deal: what the trader reaches, and what it pays. */
const Milestone = z
  .discriminatedUnion('on', [
    z.strictObject({
      on: z.literal('phase_passed').describe('`challenge.phase_passed` with this `phase`'),
      phase: z.int().min(1).max(100).describe('The phase passed, as the event carries it'),
      ...MilestonePay,
    }),
    z.strictObject({ on: z.literal('funded').describe('`funded_account.activated`'), ...MilestonePay }),
  ])
  .refine(paysOnce, 'a milestone pays either percent, or amount and currency')
  .meta({ id: 'Milestone' });

export const DealIn = z
  .discriminatedUnion('model', [
    z.strictObject({ model: z.literal('cpa'), ...CpaTerms, ...Timing }),
    z.strictObject({ model: z.literal('revshare'), ...RevshareTerms, ...Timing }),
    z.strictObject({
      model: z.literal('hybrid'),
      cpa: z.strictObject(CpaTerms),
      revshare: z.strictObject(RevshareTerms),
      ...Timing,
    }),
    z.strictObject({
      model: z.literal('lot'),
      amountPerLot: NonNegativeDecimal,
      currency: Currency,
      instruments: z.record(z.string().min(1).max(32), NonNegativeDecimal).optional(),
      lotSource: z
        .enum(LOT_SOURCES)
        .optional()
        .describe(
          'What the deal pays on: `trades` (each trade.closed; the default) or `daily_volume` (each ' +
            "account's trading.volume_daily). One only, so the same lots are never paid twice",
        ),
      ...Timing,
    }),
    z
      .strictObject({
        model: z.literal('challenge'),
        percent: Percent.optional().describe(
          'Of the challenge price, paid on the purchase; or give amount and currency; or neither, with milestones',
        ),
        amount: PositiveDecimal.optional(),
        currency: Currency.optional(),
        milestones: z
          .array(Milestone)
          .max(101)
          .optional()
          .describe('Paid once per challenge when the trader reaches each; reversed with a refund'),
        ...Timing,
      })
      .refine(
        (d) =>
          d.percent === undefined
            ? (d.amount === undefined) === (d.currency === undefined)
            : d.amount === undefined && d.currency === undefined,
        'a challenge deal pays on the purchase either percent, or amount and currency',
      ),
  ])
  .superRefine((deal, ctx) => {
    for (const problem of dealProblems(deal as Deal)) {
      const [path, ...words] = problem.split(' ');
      ctx.addIssue({ code: 'custom', path: path ? path.split('.') : [], message: words.join(' ') });
    }
  })
  .meta({ id: 'Deal' });

export const AffiliateIn = z
  .strictObject({
    name: z.string().min(1).max(200),
    status: z.enum(['active', 'suspended']).default('active'),
    deal: DealIn,
  })
  .meta({ id: 'AffiliateIn' });

export const AffiliateParams = z.object({ affiliateId: ExternalId });

export const AffiliateOut = z
  .object({
    affiliateId: z.string(),
    name: z.string(),
    status: z.enum(['active', 'suspended']),
    deal: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'AffiliateOut' });

export const ListAffiliatesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  status: z.enum(['active', 'suspended']).optional(),
});

export const COMMISSION_STATUSES = ['pending', 'approved', 'rejected', 'reversed'] as const;

export const CommissionOut = z
  .object({
    id: z.string(),
    affiliateId: z.string(),
    customerId: z.string(),
    eventId: z.string().nullable(),
    model: z.string(),
    rule: z.string(),
    amount: z.string(),
    currency: z.string(),
    status: z.enum(COMMISSION_STATUSES),
    holdUntil: z.string().nullable(),
    clawbackUntil: z.string().nullable(),
    reversalOf: z.string().nullable(),
    reason: z.string().nullable(),
    reviews: z.number().describe('Times flagged for a person to look at'),
    createdAt: z.string(),
    fx: z
      .array(FxUsedOut)
      .describe(
        'The exchange rates the commission was judged with (a CPA counting deposits in another currency); empty when none',
      ),
  })
  .meta({ id: 'CommissionOut' });

export const ListCommissionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  status: z.enum(COMMISSION_STATUSES).optional(),
});

export const BalanceOut = z
  .object({
    affiliateId: z.string(),
    balances: z.array(
      z.object({
        currency: z.string(),
        pending: z.string().meta({ description: 'Accrued, neither approved nor rejected yet' }),
        approved: z.string().meta({ description: 'Ever approved, including what was reversed later' }),
        reversed: z.string().meta({ description: 'Clawed back: the sum of reversals, zero or negative' }),
        payable: z.string().meta({ description: 'What is owed over the lifetime: approved plus reversed' }),
      }),
    ),
  })
  .meta({ id: 'BalanceOut' });

export const CommissionParams = z.object({
  id: z.string().regex(/^com_[A-Za-z0-9]{1,40}$/, 'a commission id'),
});

export const RejectIn = z.strictObject({ reason: z.string().trim().min(1).max(500) });

export function toAffiliateOut(a: Affiliate) {
  return {
    affiliateId: a.affiliateId,
    name: a.name,
    status: a.status,
    deal: a.deal as unknown as Record<string, unknown>,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function toCommissionOut(c: Commission) {
  return {
    id: c.id,
    affiliateId: c.affiliateId,
    customerId: c.customerId,
    eventId: c.eventId,
    model: c.model,
    rule: c.rule,
    amount: c.amount,
    currency: c.currency,
    status: c.status,
    holdUntil: c.holdUntil?.toISOString() ?? null,
    clawbackUntil: c.clawbackUntil?.toISOString() ?? null,
    reversalOf: c.reversalOf,
    reason: c.reason,
    reviews: c.reviews,
    createdAt: c.createdAt.toISOString(),
    fx: c.fx,
  };
}
