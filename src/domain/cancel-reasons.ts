/**
 * Why a delivery ended `cancelled` without an outcome of its own: its `lastError` in the API
 * (`GET /v1/deliveries/{id}`, `GET /v1/events/{id}`). A postback that cannot be sent, or a conversion a
 * reversal overtook, says its own reason.
 */
export const CANCEL_REASONS = {
  /** `POST /v1/deliveries/{id}/cancel`, or a `cancelDelivery` signal that gives no reason. */
  request: 'cancelled by request',
  /** Its endpoint was disabled (by hand, after a 410, or after failing for too long). */
  endpointDisabled: 'endpoint_disabled',
  /** Its endpoint was deleted. */
  endpointDeleted: 'endpoint_deleted',
} as const;

/** An endpoint that takes no more deliveries, and why: the reason its waiting deliveries end with. */
export type EndpointEndedReason =
  typeof CANCEL_REASONS.endpointDisabled | typeof CANCEL_REASONS.endpointDeleted;
