/**
 * processEvent: one workflow per accepted event, id `event:<operatorId>:<eventId>`.
 *
 * States: applying (a local activity derives the facts: effective attribution, FTD) -> completed.
 * Signals: none yet. Exits: completes with the facts and the event types to fan out.
 *
 * Cost on the happy path: one workflow start and one local activity (no extra server round trip).
 * Seams: delivery fans out `emits` to matching endpoints; commissions hang off the facts.
 */
import { proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities, EventFacts } from '../activities/index.js';
import type { InboundEventType } from '../src/domain/event-types.js';
import { SA } from '../src/domain/search-attributes.js';

export interface ProcessEventInput {
  operatorId: string;
  eventId: string;
  type: InboundEventType;
  customerId: string;
}

export interface ProcessEventResult {
  facts: EventFacts;
  /** The event types this event is delivered as: its own, plus `deposit.ftd` for a first deposit. */
  emits: string[];
}

const { applyEvent } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  // PostgreSQL being away is a wait, never a loss: keep trying, backing off to a minute.
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Processes one operator event: derives its meaning and hands it to delivery and commissions. */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const facts = await applyEvent({ operatorId: input.operatorId, eventId: input.eventId });

  const affiliateId = facts.effectiveAttribution?.affiliateId;
  const known = workflowInfo().typedSearchAttributes.get(SA.AffiliateId);
  if (typeof affiliateId === 'string' && known !== affiliateId) {
    // Inherited from the registration: make the event findable by affiliate in the Web UI.
    upsertSearchAttributes([{ key: SA.AffiliateId, value: affiliateId }]);
  }

  const emits: string[] = [input.type];
  if (facts.ftd) emits.push('deposit.ftd');
  return { facts, emits };
}
