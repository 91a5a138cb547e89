import type { Deal } from '../domain/commission/deals.js';
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

/** Creates or replaces an affiliate and its deal (`PUT /v1/affiliates/{id}`). Booked commissions keep their terms. */
export async function upsertAffiliate(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  fields: { name: string; status: AffiliateStatus; deal: Deal },
): Promise<{ affiliate: Affiliate; created: boolean }> {
  const { rows } = await db.query<AffiliateRow & { created: boolean }>(
    `INSERT INTO affiliates (operator_id, affiliate_id, name, status, deal)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (operator_id, affiliate_id) DO UPDATE
       SET name = EXCLUDED.name, status = EXCLUDED.status, deal = EXCLUDED.deal, updated_at = now()
     RETURNING *, (xmax = 0) AS created`,
    [operatorId, affiliateId, fields.name, fields.status, JSON.stringify(fields.deal)],
  );
  const row = rows[0]!;
  return { affiliate: affiliateFromRow(row), created: row.created };
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
