import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dealProblems, type ChallengeDeal, type Deal } from '../../src/domain/commission/deals.js';
import {
  commissionsNeeded,
  evaluate,
  initialState,
  storedState,
  type AccruedCommission,
  type CommissionState,
  type LedgerIntent,
} from '../../src/domain/commission/evaluate.js';
import { explainEvent, type Explanation } from '../../src/domain/commission/explain.js';
import type { CommissionEvent } from '../../src/domain/commission/facts.js';

/**
 * Prop milestones of a challenge deal, settled as the settlement step does: between events the state is
 * what `storedState` keeps (no commission but the CPA), the ledger refuses a second accrual under a key,
 * and a refund is handed the open commissions `commissionsNeeded` names.
 */

const timing = { holdPeriod: '30d', clawbackWindow: '90d' };
const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12)).toISOString();

let seq = 0;
function ev<T extends CommissionEvent['type']>(
  type: T,
  at: string,
  data: Extract<CommissionEvent, { type: T }>['data'],
  id = `evt-${++seq}`,
): CommissionEvent {
  return { id, type, occurredAt: at, data } as CommissionEvent;
}
const buy = (challengeId: string, at = day(2), price = '500.00', currency = 'USD') =>
  ev('challenge.purchased', at, { challengeId, planId: 'p-100k', price, currency });
const pass = (challengeId: string, phase: number, at = day(10), id?: string) =>
  ev('challenge.phase_passed', at, { challengeId, phase }, id);
const funded = (challengeId: string, at = day(30)) =>
  ev('funded_account.activated', at, { challengeId, accountId: `f-${challengeId}` });
const refund = (challengeId: string, at = day(40)) =>
  ev('challenge.refunded', at, { challengeId, amount: '500.00', currency: 'USD' });

const deal: ChallengeDeal = {
  model: 'challenge',
  percent: '10',
  milestones: [
    { on: 'phase_passed', phase: 1, percent: '5' },
    { on: 'funded', amount: '100.00', currency: 'EUR' },
  ],
  ...timing,
};

/** A ledger, as far as milestones need one: unique keys, and compensations that close a commission. */
class Ledger {
  readonly entries = new Map<string, AccruedCommission>();
  readonly refused: string[] = [];

  apply(intents: LedgerIntent[]): Record<string, string> {
    const answers: Record<string, string> = {};
    for (const i of intents) {
      if (i.type === 'accrue') {
        if (this.entries.has(i.idempotencyKey)) {
          this.refused.push(i.idempotencyKey);
          answers[i.idempotencyKey] = 'duplicate';
          continue;
        }
        answers[i.idempotencyKey] = 'booked';
        const challengeId = i.idempotencyKey.split('/')[1]!;
        this.entries.set(i.idempotencyKey, {
          rule: i.rule,
          model: i.model,
          idempotencyKey: i.idempotencyKey,
          causeEventId: i.causeEventId,
          amount: i.amount,
          currency: i.currency,
          occurredAt: i.occurredAt,
          holdUntil: i.holdUntil,
          clawbackUntil: i.clawbackUntil,
          status: 'pending',
          ...(i.rule === 'cpa' ? {} : { challengeId }),
        });
      } else if (i.kind !== 'review') {
        const e = this.entries.get(i.target.idempotencyKey)!;
        this.entries.set(e.idempotencyKey, { ...e, status: i.kind === 'reject' ? 'rejected' : 'reversed' });
      }
    }
    return answers;
  }

  /** What `openCommissions` reads for the keys and prefixes asked. */
  open(needed: ReturnType<typeof commissionsNeeded>): AccruedCommission[] {
    if (!needed) return [];
    return [...this.entries.values()].filter(
      (c) =>
        (c.status === 'pending' || c.status === 'approved') &&
        ('all' in needed ||
          needed.keys.includes(c.idempotencyKey) ||
          (needed.prefixes ?? []).some((p) => c.idempotencyKey.startsWith(p))),
    );
  }

  approveAll(): void {
    for (const e of this.entries.values())
      if (e.status === 'pending') this.entries.set(e.idempotencyKey, { ...e, status: 'approved' });
  }

  amounts(): string[] {
    return [...this.entries.values()].map((c) => `${c.idempotencyKey} ${c.amount} ${c.currency} ${c.status}`);
  }
}

/** Settles events one at a time through the evaluator, each on the stored state, as the settlement does. */
function settle(
  d: Deal,
  events: CommissionEvent[],
  ledger = new Ledger(),
  from: CommissionState = initialState('trader-1'),
) {
  let state = from;
  const explanations: Explanation[][] = [];
  for (const event of events) {
    const needed = commissionsNeeded(state.facts, event);
    const given = { ...state, commissions: [...ledger.open(needed), ...state.commissions] };
    const out = evaluate({ deal: d, state: given, event });
    const answers = ledger.apply(out.intents);
    explanations.push(
      explainEvent({ affiliateId: 'aff-1', deal: d, event, before: given, evaluation: out, ledger: answers }),
    );
    state = storedState(out.state);
  }
  return { ledger, state, explanations };
}

const milestoneOf = (list: Explanation[]) => list.find((e) => e.rule === 'milestone')!;

describe('prop milestones: what a challenge deal pays beyond the purchase', () => {
  it('purchase, phase 1 passed, funded: three commissions, the milestone at 5% of the price, funding fixed', () => {
    const { ledger } = settle(deal, [buy('ch-1'), pass('ch-1', 1), funded('ch-1')]);
    assert.deepEqual(ledger.amounts(), [
      'challenge/ch-1 50.00 USD pending',
      'milestone/ch-1/phase-1 25.00 USD pending',
      'milestone/ch-1/funded 100.00 EUR pending',
    ]);
    const phase1 = ledger.entries.get('milestone/ch-1/phase-1')!;
    // Held and clawed back from the milestone's own event time.
    assert.equal(phase1.occurredAt, day(10));
    assert.equal(phase1.holdUntil, new Date(Date.parse(day(10)) + 30 * 86_400_000).toISOString());
  });

  it('a phase the deal does not list pays nothing, and says so', () => {
    const { ledger, explanations } = settle(deal, [buy('ch-1'), pass('ch-1', 2)]);
    assert.equal(ledger.entries.size, 1);
    const why = milestoneOf(explanations[1]!);
    assert.equal(why.outcome, 'not_earned');
    assert.equal(why.reason, 'milestone_not_in_deal');
    assert.match(why.detail, /phase 2/);
  });

  it('a phase pass sent twice, under the same or another event id, pays once', () => {
    const twice = pass('ch-1', 1, day(10), 'evt-dup');
    const { ledger, explanations } = settle(deal, [
      buy('ch-1'),
      twice,
      twice,
      pass('ch-1', 1, day(11), 'evt-resent'),
    ]);
    assert.deepEqual(
      ledger.amounts().filter((a) => a.startsWith('milestone/')),
      ['milestone/ch-1/phase-1 25.00 USD pending'],
    );
    const why = milestoneOf(explanations[3]!);
    assert.equal(why.reason, 'already_paid');
    assert.match(why.detail, /milestone pays once/);
  });

  it('a phase pass that arrives before its purchase waits for it and is paid by it, at its own event time', () => {
    const early = pass('ch-1', 1, day(10));
    const purchase = buy('ch-1');
    const { ledger, state, explanations } = settle(deal, [early, funded('ch-1'), purchase]);
    const waited = milestoneOf(explanations[0]!);
    assert.equal(waited.outcome, 'pending');
    assert.equal(waited.reason, 'awaiting_purchase');
    assert.deepEqual(ledger.amounts(), [
      'challenge/ch-1 50.00 USD pending',
      'milestone/ch-1/phase-1 25.00 USD pending',
      'milestone/ch-1/funded 100.00 EUR pending',
    ]);
    assert.equal(ledger.entries.get('milestone/ch-1/phase-1')!.causeEventId, early.id);
    assert.equal(ledger.entries.get('milestone/ch-1/phase-1')!.occurredAt, day(10));
    const paid = milestoneOf(explanations[2]!);
    assert.equal(paid.outcome, 'earned');
    assert.match(paid.detail, /phase 1 of challenge ch-1.*paid now that the purchase gives its price/);
    assert.match(paid.detail, /funded of challenge ch-1/);
    // Nothing waits any more: the state keeps the challenge's price, not the passes.
    assert.deepEqual(state.facts.challenges, [
      {
        challengeId: 'ch-1',
        purchase: { price: '500.00', currency: 'USD', eventId: purchase.id, at: day(2) },
        waiting: [],
      },
    ]);
  });

  it('a purchase sent again pays no waiting milestone twice', () => {
    const purchase = buy('ch-1');
    const { ledger } = settle(deal, [pass('ch-1', 1), purchase, { ...purchase, id: 'evt-again' }]);
    // The purchase's own commission is refused by its key, as before; no milestone is asked for again.
    assert.deepEqual(ledger.refused, ['challenge/ch-1']);
    assert.equal(ledger.entries.size, 2);
  });

  it('a refund inside the clawback window reverses the purchase and every milestone of that challenge only', () => {
    const { ledger } = settle(deal, [buy('ch-1'), pass('ch-1', 1), buy('ch-2'), pass('ch-2', 1)]);
    ledger.approveAll();
    const { ledger: after, explanations } = settle(deal, [refund('ch-1', day(35))], ledger);
    assert.deepEqual(after.amounts(), [
      'challenge/ch-1 50.00 USD reversed',
      'milestone/ch-1/phase-1 25.00 USD reversed',
      'challenge/ch-2 50.00 USD approved',
      'milestone/ch-2/phase-1 25.00 USD approved',
    ]);
    const why = milestoneOf(explanations[0]!);
    assert.equal(why.outcome, 'compensated');
    assert.equal(why.reason, 'challenge_refund');
  });

  it('a refund is judged by each commission’s own clawback window: past the purchase’s, inside the milestone’s', () => {
    const { ledger } = settle(deal, [buy('ch-1'), pass('ch-1', 1, day(10))]);
    ledger.approveAll();
    // The purchase's window ends on day 92, the milestone's on day 100.
    const { ledger: after } = settle(deal, [refund('ch-1', day(95))], ledger);
    assert.deepEqual(after.amounts(), [
      'challenge/ch-1 50.00 USD approved',
      'milestone/ch-1/phase-1 25.00 USD reversed',
    ]);
  });

  it('a milestone of a refunded challenge pays nothing, whether the refund came before or after its purchase', () => {
    const after = settle(deal, [buy('ch-1'), refund('ch-1', day(5)), pass('ch-1', 1), funded('ch-1')]);
    assert.deepEqual(
      after.ledger.amounts().filter((a) => a.startsWith('milestone/')),
      [],
    );
    assert.equal(milestoneOf(after.explanations[2]!).reason, 'challenge_refund');
    const before = settle(deal, [pass('ch-2', 1), refund('ch-2', day(11)), buy('ch-2')]);
    assert.deepEqual(before.ledger.amounts(), []);
    // What waited is let go with the refund: nothing stays in the state for that challenge.
    assert.deepEqual(before.state.facts.challenges, []);
  });

  it('a deal may pay only milestones: the purchase books nothing under the challenge rule', () => {
    const only: Deal = { model: 'challenge', milestones: [{ on: 'funded', percent: '20' }], ...timing };
    const { ledger, explanations } = settle(only, [buy('ch-1', day(2), '250.00', 'EUR'), funded('ch-1')]);
    assert.deepEqual(ledger.amounts(), ['milestone/ch-1/funded 50.00 EUR pending']);
    assert.deepEqual(
      explanations[1]!.map((e) => [e.rule, e.outcome]),
      [['milestone', 'earned']],
    );
  });

  it('a challenge deal without milestones pays nothing on a phase pass or funding, as before', () => {
    const plain: Deal = { model: 'challenge', percent: '10', ...timing };
    const { ledger, explanations } = settle(plain, [buy('ch-1'), pass('ch-1', 1), funded('ch-1')]);
    assert.equal(ledger.entries.size, 1);
    assert.deepEqual(
      explanations[1]!.map((e) => [e.rule, e.outcome]),
      [['challenge', 'not_applicable']],
    );
  });

  it('the state keeps no milestone commission, only open challenges, and drops a challenge once refunded', () => {
    const { state } = settle(deal, [buy('ch-1'), pass('ch-1', 1), funded('ch-1'), refund('ch-1')]);
    assert.deepEqual(state.commissions, []);
    assert.deepEqual(state.facts.challenges, []);
  });
});

describe('prop milestones: the deal’s terms', () => {
  it('each milestone pays a percent or an amount with its currency, once per phase, with a phase from 1 to 100', () => {
    const bad = {
      model: 'challenge',
      milestones: [
        { on: 'phase_passed', phase: 0, percent: '5' },
        { on: 'funded', percent: '101' },
        { on: 'funded', amount: '-1', currency: 'usd' },
      ],
      ...timing,
    } as unknown as Deal;
    assert.deepEqual(dealProblems(bad), [
      'milestones.0.phase must be a whole number from 1 to 100',
      'milestones.1.percent must be a decimal string from "0" to "100"',
      'milestones.2.amount must be greater than zero',
      'milestones.2.currency must be an ISO 4217 code such as "EUR"',
      'milestones.2 repeats milestones.1 (funded): each pays once',
    ]);
  });

  it('a deal that pays neither on the purchase nor on a milestone is refused', () => {
    assert.deepEqual(dealProblems({ model: 'challenge', milestones: [], ...timing } as Deal), [
      'milestones must list at least one milestone when the deal pays nothing on the purchase (percent, or amount and currency)',
    ]);
    assert.deepEqual(dealProblems(deal), []);
  });
});
