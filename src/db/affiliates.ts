import type { AffiliateField } from '../domain/affiliate-events.js';
import type { Deal } from '../domain/commission/deals.js';
import { afterCursor, newestFirst } from './keyset.js';
import type { Queryable } from './pool.js';

/** Repository of affiliates and their deals (migration 004). */

export type AffiliateStatus = 'active' | 'suspended';

export interface Affiliate {
  operatorId: string;
  affiliateId: string;
  name: string;
  status: AffiliateStatus;
  deal: Deal;
  createdAt: Date;
  updatedAt: Date;
}

interface AffiliateRow {
  operator_id: string;
  affiliate_id: string;
  name: string;
  status: AffiliateStatus;
  deal: Deal;
  created_at: Date;
  updated_at: Date;
}

function affiliateFromRow(r: AffiliateRow): Affiliate {
  return {
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    name: r.name,
    status: r.status,
    deal: r.deal,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** What a `PUT` did: the affiliate as it stands, and what changed (src/domain/affiliate-events.ts). */
export interface AffiliateUpsert {
  affiliate: Affiliate;
  created: boolean;
  /** The fields that differ from before: empty on creation and when the PUT changed nothing. */
  changed: AffiliateField[];
  previousStatus: AffiliateStatus | null;
  /** Unique per change of this affiliate (`updated_at` in microseconds, strictly increasing per row). */
  version: string;
}

type VersionedRow = AffiliateRow & { version: string };
const RETURNING = `*, (extract(epoch FROM updated_at) * 1000000)::bigint::text AS version`;

/**
 * Creates or replaces an affiliate and its deal (`PUT /v1/affiliates/{id}`). Booked commissions keep their
 * terms. A PUT that changes nothing writes nothing (`updated_at` stays). Run it in a transaction to record
 * the events of the change with it: the row stays locked until commit, so changes of one affiliate serialise.
 */
export async function upsertAffiliate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  fields: { name: string; status: AffiliateStatus; deal: Deal },
): Promise<AffiliateUpsert> {
  const deal = JSON.stringify(fields.deal);
  let prev = await lockForChange(db, operatorId, affiliateId, deal);
  if (!prev) {
    const { rows } = await db.query<VersionedRow>(
      `INSERT INTO affiliates (operator_id, affiliate_id, name, status, deal) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (operator_id, affiliate_id) DO NOTHING RETURNING ${RETURNING}`,
      [operatorId, affiliateId, fields.name, fields.status, deal],
    );
    if (rows[0]) return upserted(rows[0], true, [], null);
    // Created by a concurrent PUT since the lock found nothing: it is there now, so this one replaces it.
    prev = (await lockForChange(db, operatorId, affiliateId, deal))!;
  }
  const changed: AffiliateField[] = [];
  if (prev.name !== fields.name) changed.push('name');
  if (prev.status !== fields.status) changed.push('status');
  if (!prev.same_deal) changed.push('deal');
  if (!changed.length) return upserted(prev, false, [], prev.status);
  const { rows } = await db.query<VersionedRow>(
    `UPDATE affiliates SET name = $3, status = $4, deal = $5,
            updated_at = greatest(now(), updated_at + interval '1 microsecond')
      WHERE operator_id = $1 AND affiliate_id = $2 RETURNING ${RETURNING}`,
    [operatorId, affiliateId, fields.name, fields.status, deal],
  );
  return upserted(rows[0]!, false, changed, prev.status);
}

async function lockForChange(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  deal: string,
): Promise<(VersionedRow & { same_deal: boolean }) | undefined> {
  const { rows } = await db.query<VersionedRow & { same_deal: boolean }>(
    `SELECT ${RETURNING}, deal = $3::jsonb AS same_deal FROM affiliates
      WHERE operator_id = $1 AND affiliate_id = $2 FOR UPDATE`,
    [operatorId, affiliateId, deal],
  );
  return rows[0];
}

function upserted(
  row: VersionedRow,
  created: boolean,
  changed: AffiliateField[],
  previousStatus: AffiliateStatus | null,
): AffiliateUpsert {
  return { affiliate: affiliateFromRow(row), created, changed, previousStatus, version: row.version };
}

export async function findAffiliate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
): Promise<Affiliate | null> {
  const { rows } = await db.query<AffiliateRow>(
    'SELECT * FROM affiliates WHERE operator_id = $1 AND affiliate_id = $2',
    [operatorId, affiliateId],
  );
  return rows[0] ? affiliateFromRow(rows[0]) : null;
}

/** The operator's affiliates, newest first, keyset-paginated on (created_at, affiliate_id). */
export async function listAffiliates(
  db: Queryable,
  operatorId: string,
  filter: { status?: AffiliateStatus | undefined },
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<Affiliate[]> {
  // As every list (src/db/keyset.ts), with the affiliate's id as the tie-breaker.
  const { rows } = await db.query<AffiliateRow>(
    `SELECT * FROM affiliates
      WHERE operator_id = $1
        AND ($2::text IS NULL OR status = $2)
        AND ${afterCursor(3, 4, { id: 'affiliate_id' })}
      ${newestFirst({ id: 'affiliate_id' })}
      LIMIT $5`,
    [operatorId, filter.status ?? null, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
  );
  return rows.map(affiliateFromRow);
}
