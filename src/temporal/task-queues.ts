/** Workflow type names as the client starts them; frozen once shipped. */
export const WORKFLOW_TYPES = {
  processEvent: 'processEvent',
  settleCustomer: 'settleCustomer',
  replayEndpoint: 'replayEndpoint',
} as const;
