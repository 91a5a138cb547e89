import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIVITY_FAILURES } from '../../src/domain/activity-failures.js';

describe('activity failure types', () => {
  it('keep the strings recorded in workflow histories', () => {
    // Histories (test/fixtures/histories) hold these: a changed value breaks their replay.
    assert.deepEqual(ACTIVITY_FAILURES, {
      eventNotFound: 'EventNotFoundError',
      deliveryNotFound: 'DeliveryNotFoundError',
      deliveryAttemptFailed: 'DeliveryAttemptFailed',
      rateLimited: 'RateLimited',
      breakerOpen: 'EndpointBreakerOpen',
      postbackConfig: 'PostbackConfigError',
      replayTargetGone: 'ReplayTargetGoneError',
    });
  });
});
