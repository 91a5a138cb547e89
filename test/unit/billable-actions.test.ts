import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { billableActions } from '../../bench/temporal-cost.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A recorded history (test/fixtures/histories, recorded from real runs by test/integration/record-*.ts). */
function recorded(name: string): HistoryEvent[] {
  const url = new URL(`../fixtures/histories/${name}.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { events: HistoryEvent[] }).events;
}

const kinds = (events: HistoryEvent[], attr: keyof HistoryEvent) => events.filter((e) => e[attr]).length;

describe("Temporal Cloud's billable actions, counted from a history", () => {
  it('bills the happy path as its start plus one action for both local activities of its workflow task', () => {
    const events = recorded('registration-one-delivery');
    assert.equal(kinds(events, 'markerRecordedEventAttributes'), 2);
    assert.equal(billableActions(events), 2);
  });

  it('bills a quick local retry as its timer plus one action for the markers of its own workflow task', () => {
    // Start, the first task's two local activities, the timer, the second task's local attempt.
    assert.equal(billableActions(recorded('registration-level1-quick-retry')), 1 + 1 + 1 + 1);
  });

  it('bills upserts, timers and each server-side attempt one each; three local first attempts as one', () => {
    const events = recorded('ftd-three-deliveries-one-retried');
    assert.equal(kinds(events, 'markerRecordedEventAttributes'), 4);
    // Start 1, markers of one task 1, upserts 4 (AffiliateId, then three of the delivery), timer 1, attempt 1.
    assert.equal(billableActions(events), 8);
  });

  it('bills a signal-with-start once, and later signals one each', () => {
    const events = recorded('customer-cpa-held-approved');
    assert.ok(events[1]!.workflowExecutionSignaledEventAttributes, 'started by signal-with-start');
    assert.equal(kinds(events, 'workflowExecutionSignaledEventAttributes'), 2);
    // Signal-with-start 1, the later signal 1, three tasks' markers 3, two timers 2, two upserts 2.
    assert.equal(billableActions(events), 9);
  });

  it("does not bill an upsert that only sets the SDK's TemporalChangeVersion", () => {
    const upsert = (fields: string[]): HistoryEvent => ({
      upsertWorkflowSearchAttributesEventAttributes: {
        searchAttributes: { indexedFields: Object.fromEntries(fields.map((f) => [f, {}])) },
      },
    });
    assert.equal(billableActions([upsert(['TemporalChangeVersion'])]), 0);
    assert.equal(billableActions([upsert(['TemporalChangeVersion', 'DeliveryStatus'])]), 1);
  });
});
