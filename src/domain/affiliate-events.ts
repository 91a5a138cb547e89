/**
 * What a change to an affiliate (`PUT /v1/affiliates/{id}`) emits. Pure: the repository says what the
 * affiliate was and what changed, this says which events that makes.
 *
 * - Created: `affiliate.created` only (whatever its status).
 * - Status changed: `affiliate.status_changed`, with the previous status.
 * - Name or deal changed: `affiliate.updated`, listing every field that changed (the status too, when it
 *   changed in the same PUT, so an `affiliate.updated` subscriber alone sees the whole change).
 * - Nothing changed: nothing.
 */

export type AffiliateField = 'name' | 'status' | 'deal';
export type AffiliateEventType = 'affiliate.created' | 'affiliate.updated' | 'affiliate.status_changed';

export interface AffiliateChange {
  affiliateId: string;
  name: string;
  status: 'active' | 'suspended';
  dealModel: string;
  /** null when the PUT created it. */
  previousStatus: 'active' | 'suspended' | null;
  created: boolean;
  /** The fields whose values differ from before (empty on creation and for an identical PUT). */
  changed: readonly AffiliateField[];
}

export interface AffiliateEvent {
  type: AffiliateEventType;
  data: Record<string, unknown>;
}

const FIELD_ORDER: readonly AffiliateField[] = ['name', 'status', 'deal'];

export function affiliateEvents(c: AffiliateChange): AffiliateEvent[] {
  const about = { affiliateId: c.affiliateId, name: c.name, status: c.status, dealModel: c.dealModel };
  if (c.created) return [{ type: 'affiliate.created', data: about }];
  const events: AffiliateEvent[] = [];
  if (c.changed.includes('status') && c.previousStatus !== null)
    events.push({ type: 'affiliate.status_changed', data: { ...about, previousStatus: c.previousStatus } });
  if (c.changed.some((f) => f !== 'status'))
    events.push({
      type: 'affiliate.updated',
      data: { ...about, changed: FIELD_ORDER.filter((f) => c.changed.includes(f)) },
    });
  return events;
}
