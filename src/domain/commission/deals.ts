/**
 * An affiliate's deal (docs/api-v1.md section 6): which of the five models pays, on what terms, how long a
 * commission is held before approval and how long it can be clawed back. Pure data and pure checks,
 * safe to import from workflows; the API validates the shape with zod and `dealProblems` checks the
 * meaning.
 */
import { isDuration, parseDuration } from '../duration.js';
import { dealDurationProblem, MAX_AMOUNT_DIGITS, withinDigits } from '../limits.js';
import { compare, isDecimal, isNegative, isPositive, type Decimal } from '../money.js';

export const DEAL_MODELS = ['cpa', 'revshare', 'hybrid', 'lot', 'challenge'] as const;
export type DealModel = (typeof DEAL_MODELS)[number];

/**
 * The part of a deal a commission is paid under: a hybrid deal pays under two rules, a challenge deal with
 * milestones under `challenge` (the purchase) and `milestone` (phase passes, funding).
 */
export const COMMISSION_RULES = ['cpa', 'revshare', 'lot', 'challenge', 'milestone'] as const;
export type CommissionRule = (typeof COMMISSION_RULES)[number];

/** Every model takes both. Durations are the contract's strings (`"30d"`). */
export interface DealTiming {
  /** From the commission's own event time until it may be approved. */
  holdPeriod: string;
  /**
   * From the commission's own event time until an approved commission can still be reversed. After it, a
   * compensation only flags the commission for review. It includes the hold, so it should be longer.
   */
  clawbackWindow: string;
}

/**
 * When a customer qualifies for a CPA. Every condition given must hold at one moment of event time; the
 * moment the last one comes true is when the CPA is earned. A deposit in another currency counts at the
 * operator's exchange rate of its day (src/domain/fx.ts); without one the CPA waits for it.
 * With neither `minFirstDeposit` nor `minCumulativeDeposits`, a first deposit of any amount is required:
 * a CPA pays for a depositing customer.
 */
export interface CpaQualification {
  /** The customer's first deposit (earliest by event time) is at least this. */
  minFirstDeposit?: Decimal;
  /** The deposits counted add up to at least this. */
  minCumulativeDeposits?: Decimal;
  /** Only deposits made within this many days of registration count (both minimums). */
  windowDays?: number;
  /** KYC is `verified` at the moment of qualification. */
  requireKyc?: boolean;
  /** A `wagering.completed` happened by the moment of qualification. */
  requireWagering?: boolean;
  /** ISO 3166-1 alpha-2 countries of registration that may qualify; all when absent. */
  countries?: string[];
  /** The customer must qualify within this many days of registration, or never. */
  deadlineDays?: number;
}

export interface CpaTerms {
  amount: Decimal;
  currency: string;
  qualification: CpaQualification;
}

/** From `fromNgr` of month-to-date NGR upward, the percent paid on each further unit of NGR. */
export interface RevshareTier {
  fromNgr: Decimal;
  percent: Decimal;
}

export interface RevshareTerms {
  /** Paid below the first tier, or throughout when there are no tiers. */
  percent: Decimal;
  tiers?: RevshareTier[];
  /** A month that ends below zero carries the shortfall into the next month, until earned back. */
  negativeCarryover: boolean;
}

/**
 * What a lot deal pays on: each `trade.closed`, or each account's `trading.volume_daily`. One source
 * only, so a day is never paid twice; events of the other source pay nothing under the deal.
 */
export const LOT_SOURCES = ['trades', 'daily_volume'] as const;
export type LotSource = (typeof LOT_SOURCES)[number];

export interface LotTerms {
  amountPerLot: Decimal;
  currency: string;
  /** Per-instrument amounts that replace `amountPerLot` (`{"XAUUSD": "8.00"}`). */
  instruments?: Record<string, Decimal>;
  /** Absent on deals made before there was a choice: `trades`. */
  lotSource?: LotSource;
}

/** A percent of the challenge price (in the price's currency), or a fixed amount. */
export type ChallengePay =
  | { percent: Decimal; amount?: undefined; currency?: undefined }
  | { percent?: undefined; amount: Decimal; currency: string };

/** What a referred trader reaches in a challenge after buying it: a phase passed, or a funded account. */
export type MilestoneTrigger = { on: 'phase_passed'; phase: number } | { on: 'funded' };

/** A milestone of a challenge deal: paid once per challenge, when the trader reaches it. */
export type Milestone = MilestoneTrigger & ChallengePay;

/**
 * What a challenge deal pays: on the purchase (`percent` or `amount`), on milestones, or both. A deal
 * that pays only milestones gives neither `percent` nor `amount`.
 */
export type ChallengeTerms = (
  ChallengePay | { percent?: undefined; amount?: undefined; currency?: undefined }
) & {
  milestones?: Milestone[];
};

export type CpaDeal = { model: 'cpa' } & CpaTerms & DealTiming;
export type RevshareDeal = { model: 'revshare' } & RevshareTerms & DealTiming;
export type HybridDeal = { model: 'hybrid'; cpa: CpaTerms; revshare: RevshareTerms } & DealTiming;
export type LotDeal = { model: 'lot' } & LotTerms & DealTiming;
export type ChallengeDeal = { model: 'challenge' } & ChallengeTerms & DealTiming;

export type Deal = CpaDeal | RevshareDeal | HybridDeal | LotDeal | ChallengeDeal;

/** The CPA terms of a deal, if it pays a CPA. */
export function cpaTermsOf(deal: Deal): CpaTerms | null {
  if (deal.model === 'cpa') return deal;
  if (deal.model === 'hybrid') return deal.cpa;
  return null;
}

/** What a lot deal pays on (`trades` unless it says otherwise); null for other models. */
export function lotSourceOf(deal: Deal): LotSource | null {
  return deal.model === 'lot' ? (deal.lotSource ?? 'trades') : null;
}

/** The RevShare terms of a deal, if it pays a RevShare. */
export function revshareTermsOf(deal: Deal): RevshareTerms | null {
  if (deal.model === 'revshare') return deal;
  if (deal.model === 'hybrid') return deal.revshare;
  return null;
}

const CURRENCY = /^[A-Z]{3}$/;
const COUNTRY = /^[A-Z]{2}$/;

function checkAmount(problems: string[], path: string, value: unknown, positive: boolean): void {
  if (!isDecimal(value)) problems.push(`${path} must be a decimal string such as "50.00"`);
  else if (!withinDigits(value, MAX_AMOUNT_DIGITS))
    problems.push(`${path} must have at most ${MAX_AMOUNT_DIGITS} digits before the point`);
  else if (positive ? !isPositive(value) : isNegative(value))
    problems.push(`${path} must be ${positive ? 'greater than zero' : 'zero or more'}`);
}

function checkPercent(problems: string[], path: string, value: unknown): void {
  if (!isDecimal(value) || isNegative(value) || compare(value, '100') > 0)
    problems.push(`${path} must be a decimal string from "0" to "100"`);
}

function checkCurrency(problems: string[], path: string, value: unknown): void {
  if (typeof value !== 'string' || !CURRENCY.test(value))
    problems.push(`${path} must be an ISO 4217 code such as "EUR"`);
}

function checkDays(problems: string[], path: string, value: unknown): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1))
    problems.push(`${path} must be a whole number of days, at least 1`);
}

function checkCpa(problems: string[], path: string, cpa: CpaTerms): void {
  checkAmount(problems, `${path}amount`, cpa.amount, true);
  checkCurrency(problems, `${path}currency`, cpa.currency);
  const q = cpa.qualification ?? {};
  if (q.minFirstDeposit !== undefined)
    checkAmount(problems, `${path}qualification.minFirstDeposit`, q.minFirstDeposit, false);
  if (q.minCumulativeDeposits !== undefined)
    checkAmount(problems, `${path}qualification.minCumulativeDeposits`, q.minCumulativeDeposits, false);
  checkDays(problems, `${path}qualification.windowDays`, q.windowDays);
  checkDays(problems, `${path}qualification.deadlineDays`, q.deadlineDays);
  if (
    q.countries !== undefined &&
    (!Array.isArray(q.countries) || !q.countries.every((c) => COUNTRY.test(c)))
  )
    problems.push(`${path}qualification.countries must be ISO 3166-1 alpha-2 codes such as "DE"`);
}

function checkRevshare(problems: string[], path: string, rs: RevshareTerms): void {
  checkPercent(problems, `${path}percent`, rs.percent);
  if (typeof rs.negativeCarryover !== 'boolean') problems.push(`${path}negativeCarryover must be a boolean`);
  const tiers = rs.tiers ?? [];
  tiers.forEach((tier, i) => {
    checkAmount(problems, `${path}tiers[${i}].fromNgr`, tier.fromNgr, false);
    checkPercent(problems, `${path}tiers[${i}].percent`, tier.percent);
    const prev = tiers[i - 1];
    if (
      i > 0 &&
      prev &&
      isDecimal(prev.fromNgr) &&
      isDecimal(tier.fromNgr) &&
      compare(prev.fromNgr, tier.fromNgr) >= 0
    )
      problems.push(`${path}tiers must be in strictly ascending order of fromNgr`);
  });
}

function checkPay(problems: string[], path: string, pay: ChallengeTerms): void {
  if (pay.percent !== undefined) checkPercent(problems, `${path}percent`, pay.percent);
  else {
    checkAmount(problems, `${path}amount`, pay.amount, true);
    checkCurrency(problems, `${path}currency`, pay.currency);
  }
}

/** What the deal pays on the purchase itself; null for a deal that pays only milestones. */
export function purchasePay(deal: ChallengeTerms): ChallengePay | null {
  if (deal.percent !== undefined) return { percent: deal.percent };
  if (deal.amount !== undefined) return { amount: deal.amount, currency: deal.currency };
  return null;
}

/** `phase 2` or `funded`: how a milestone is named in keys, explanations and problems. */
export function milestoneName(m: MilestoneTrigger): string {
  return m.on === 'funded' ? 'funded' : `phase ${m.phase}`;
}

function checkChallenge(problems: string[], deal: ChallengeDeal): void {
  const milestones = deal.milestones ?? [];
  if (deal.percent !== undefined || deal.amount !== undefined) checkPay(problems, '', deal);
  else if (!milestones.length)
    problems.push(
      'milestones must list at least one milestone when the deal pays nothing on the purchase (percent, or amount and currency)',
    );
  const seen = new Map<string, number>();
  milestones.forEach((m, i) => {
    if (m.on === 'phase_passed' && (!Number.isInteger(m.phase) || m.phase < 1 || m.phase > 100))
      problems.push(`milestones.${i}.phase must be a whole number from 1 to 100`);
    checkPay(problems, `milestones.${i}.`, m);
    const name = milestoneName(m);
    const first = seen.get(name);
    if (first !== undefined)
      problems.push(`milestones.${i} repeats milestones.${first} (${name}): each pays once`);
    else seen.set(name, i);
  });
}

/** The deal's milestone for what the trader reached, if it pays one. */
export function milestoneOf(deal: Deal, reached: MilestoneTrigger): Milestone | null {
  if (deal.model !== 'challenge') return null;
  const name = milestoneName(reached);
  return deal.milestones?.find((m) => milestoneName(m) === name) ?? null;
}

/**
 * What is wrong with a deal's terms, as `path message` sentences; empty when it can be used. Checks
 * meaning (positive amounts, percents up to 100, ascending tiers, durations), not JSON shape.
 */
export function dealProblems(deal: Deal): string[] {
  const problems: string[] = [];
  for (const key of ['holdPeriod', 'clawbackWindow'] as const) {
    if (!isDuration(deal[key])) problems.push(`${key} must be a duration such as "30d"`);
    else {
      // A longer one puts hold ends and clawback ends past what a date can hold.
      const tooLong = dealDurationProblem(deal[key]);
      if (tooLong) problems.push(`${key} ${tooLong}`);
    }
  }
  if (!problems.length && parseDuration(deal.clawbackWindow) < parseDuration(deal.holdPeriod))
    problems.push('clawbackWindow must be at least as long as holdPeriod');
  switch (deal.model) {
    case 'cpa':
      checkCpa(problems, '', deal);
      break;
    case 'revshare':
      checkRevshare(problems, '', deal);
      break;
    case 'hybrid':
      checkCpa(problems, 'cpa.', deal.cpa);
      checkRevshare(problems, 'revshare.', deal.revshare);
      break;
    case 'lot':
      checkAmount(problems, 'amountPerLot', deal.amountPerLot, false);
      checkCurrency(problems, 'currency', deal.currency);
      for (const [instrument, amount] of Object.entries(deal.instruments ?? {}))
        checkAmount(problems, `instruments.${instrument}`, amount, false);
      if (deal.lotSource !== undefined && !(LOT_SOURCES as readonly string[]).includes(deal.lotSource))
        problems.push(`lotSource must be one of ${LOT_SOURCES.join(', ')}`);
      break;
    case 'challenge':
      checkChallenge(problems, deal);
      break;
    default:
      problems.push(`model must be one of ${DEAL_MODELS.join(', ')}`);
  }
  return problems;
}
