/**
 * How an inbound source's GET postback maps onto the event envelope (src/contract/events.ts): query fields
 * to canonical paths, tracker statuses to event types, and defaults. Stored with the source
 * (src/db/sources.ts), applied by src/ingest/inbound-map.ts.
 */

export type FieldMap = Record<string, string | string[]>;
export type StatusMap = Record<string, string>;
export type Defaults = Record<string, string | number | boolean>;

export interface InboundMapping {
  fieldMap: FieldMap;
  statusMap: StatusMap;
  defaults: Defaults;
}
