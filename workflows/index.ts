/** Every workflow type the worker hosts. Names are frozen once shipped. */
export { processEvent } from './process-event.js';
export type { ProcessEventInput, ProcessEventResult } from './process-event.js';
export { settleCustomer } from './settle-customer.js';
export type { SettleCustomerInput, SettleCustomerResult } from './settle-customer.js';
export { cleanUpExpiredRows } from './clean-up-expired-rows.js';
export { replayEndpoint } from './replay-endpoint.js';
export type { ReplayEndpointInput, ReplayEndpointResult } from './replay-endpoint.js';
