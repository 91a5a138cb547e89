/**
 * Identifier rules shared by the API, the database and workflows: operator-supplied ids, minted id
 * prefixes, and the business-key workflow ids an operator can type into the Temporal Web UI.
 */

/** Operator-supplied ids (event, customer, affiliate): 1-128 chars of `[A-Za-z0-9._:@-]`. */
export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

export const ID_PREFIXES = {
  operator: 'op_',
  apiKey: 'key_',
  endpoint: 'ep_',
  delivery: 'dlv_',
  commission: 'com_',
  source: 'src_',
  portalLink: 'pl_',
  replay: 'rpl_',
  inboundRequest: 'ir_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** `event:<operatorId>:<eventId>`: one workflow per accepted event. */
export function eventWorkflowId(operatorId: string, eventId: string): string {
  return `event:${operatorId}:${eventId}`;
}

/** `replay:<operatorId>:<replayId>`: one workflow per replay of an endpoint from the feed. */
export function replayWorkflowId(operatorId: string, replayId: string): string {
  return `replay:${operatorId}:${replayId}`;
}

/** `customer:<operatorId>:<customerId>`: the per-customer entity workflow (commission ordering). */
export function customerWorkflowId(operatorId: string, customerId: string): string {
  return `customer:${operatorId}:${customerId}`;
}

/** `sys~<key>`: the id of an event the orchestrator emits itself (`~` never appears in operator ids). */
export function internalEventId(key: string): string {
  return `sys~${key}`;
}
