import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../src/main/host/worker.js';

/**
 * Workflow code that may be running must stay replayable: these histories were recorded from real runs
 * (test/integration/record-histories.ts) and are replayed against today's code. A failure here means a
 * change needs `patched()`, not a new fixture.
 */
const dir = join(import.meta.dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('replaying recorded event workflows', () => {
  it('has fixtures to replay', () => {
    assert.ok(fixtures.length >= 2, fixtures.join());
  });
  it('holds timers recorded without a summary, so replaying them proves summaries are not part of determinism', () => {
    // The workflows now give every timer a summary (user metadata on the command). The server records it,
    // but the SDK does not compare it on replay: these histories, recorded before, must still replay.
    const bare = fixtures.filter((file) => {
      const { events } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        events: { eventType: string; userMetadata?: unknown }[];
      };
      return events.some((e) => e.eventType === 'EVENT_TYPE_TIMER_STARTED' && !e.userMetadata);
    });
    assert.ok(
      bare.some((f) => f.startsWith('customer-')) && bare.some((f) => !f.startsWith('customer-')),
      bare.join(),
    );
  });
  for (const file of fixtures) {
    it(`replays ${file} without nondeterminism`, async () => {
      const history = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      await Worker.runReplayHistory({ workflowsPath: workflowsPath(), replayName: file }, history);
    });
  }
});
