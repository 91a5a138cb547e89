/**
 * The failure types activities throw (ApplicationFailure `type`) and workflows read. One list, so the
 * thrower and the reader name the same string. These strings are recorded in workflow histories: never
 * change a value, only add.
 */
export const ACTIVITY_FAILURES = {
  /** applyEvent: the event has no row (never retried). */
  eventNotFound: 'EventNotFoundError',
  /** deliverWebhook: the delivery has no row (never retried). */
  deliveryNotFound: 'DeliveryNotFoundError',
  /** deliverWebhook: an attempt failed and was logged; its details carry the attempt (AttemptFailure). */
  deliveryAttemptFailed: 'DeliveryAttemptFailed',
  /** deliverWebhook: the endpoint's send slot is further away than an activity waits; retried at it. */
  rateLimited: 'RateLimited',
  /**
   * deliverWebhook: the endpoint's breaker is open and this delivery does not probe it; retried when the
   * probe is due or the wait ends (a server-side timer). Not an attempt: nothing was sent or logged.
   */
  breakerOpen: 'EndpointBreakerOpen',
  /** deliverWebhook: a postback cannot be rendered from its endpoint's configuration (never retried). */
  postbackConfig: 'PostbackConfigError',
  /** replayFeedPage: the replay, or the endpoint it replays, is gone (never retried: the replay fails). */
  replayTargetGone: 'ReplayTargetGoneError',
} as const;

export type ActivityFailureType = (typeof ACTIVITY_FAILURES)[keyof typeof ACTIVITY_FAILURES];
