import { randomBytes } from 'node:crypto';
import { ID_PREFIXES } from '../domain/ids.js';
import { randomBase62 } from './new-id.js';
import type { Queryable } from './pool.js';
import { afterCursor, NEWEST_FIRST } from './keyset.js';
import { hashSecret, secretMatches } from './secret-hash.js';

/**
 * Repository of affiliate portal links (migration 027): read-only tokens for one affiliate, stored as
 * API keys are (src/db/secret-hash.ts: the SHA-256 of the secret part, compared in constant time).
 */

/** What a portal token may read or do (docs/api-v1.md section 8). */
export const PORTAL_SCOPES = ['endpoints', 'deliveries', 'commissions', 'test'] as const;
export type PortalScope = (typeof PORTAL_SCOPES)[number];

/** Every portal token starts with this, so any route can tell one from an API key without a lookup. */
export const PORTAL_TOKEN_PREFIX = 'ahp_';

export interface PortalLink {
  id: string;
  operatorId: string;
  affiliateId: string;
  scope: PortalScope[];
  expiresAt: Date;
  createdAt: Date;
  revokedAt: Date | null;
}

interface PortalLinkRow {
  id: string;
  operator_id: string;
  affiliate_id: string;
  scope: PortalScope[];
  expires_at: Date;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'id, operator_id, affiliate_id, scope, expires_at, created_at, revoked_at';

function fromRow(r: PortalLinkRow): PortalLink {
  return {
    id: r.id,
    operatorId: r.operator_id,
    affiliateId: r.affiliate_id,
    scope: r.scope,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/** Splits `ahp_<linkId>_<secret>`; null when the shape is wrong. */
function parseToken(token: string): { id: string; secret: string } | null {
  const match = /^ahp_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { id: `${ID_PREFIXES.portalLink}${match[1]}`, secret: match[2]! } : null;
}

/** Mints a link for an affiliate that exists; the token is returned once and stored only as a hash. */
export async function createPortalLink(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  scope: readonly PortalScope[],
  expiresInMs: number,
): Promise<{ link: PortalLink; token: string }> {
  const linkPublic = randomBase62(16);
  const secret = randomBytes(32).toString('base64url');
  const { rows } = await db.query<PortalLinkRow>(
    `INSERT INTO portal_links (id, operator_id, affiliate_id, secret_hash, scope, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')
     RETURNING ${COLUMNS}`,
    [
      `${ID_PREFIXES.portalLink}${linkPublic}`,
      operatorId,
      affiliateId,
      hashSecret(secret),
      [...scope],
      expiresInMs,
    ],
  );
  return { link: fromRow(rows[0]!), token: `${PORTAL_TOKEN_PREFIX}${linkPublic}_${secret}` };
}

/** The affiliate's links, newest first (keyset.ts), expired and revoked ones included. */
export async function listPortalLinks(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<PortalLink[]> {
  const { rows } = await db.query<PortalLinkRow>(
    `SELECT ${COLUMNS} FROM portal_links
      WHERE operator_id = $1 AND affiliate_id = $2 AND ${afterCursor(3, 4)}
      ${NEWEST_FIRST}
      LIMIT $5`,
    [operatorId, affiliateId, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
  );
  return rows.map(fromRow);
}

/** Revokes a link now (a revoked one stays as it was); null when the affiliate has no such link. */
export async function revokePortalLink(
  db: Queryable,
  operatorId: string,
  affiliateId: string,
  id: string,
): Promise<PortalLink | null> {
  const { rows } = await db.query<PortalLinkRow>(
    `UPDATE portal_links SET revoked_at = coalesce(revoked_at, now())
      WHERE operator_id = $1 AND affiliate_id = $2 AND id = $3
      RETURNING ${COLUMNS}`,
    [operatorId, affiliateId, id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * The live link a token opens, or null: unknown, wrong secret, revoked or expired (judged by PostgreSQL's
 * clock, in the same statement). Never cached, so a revocation holds from the next request on.
 */
export async function findLiveLinkByToken(db: Queryable, token: string): Promise<PortalLink | null> {
  const parsed = parseToken(token);
  if (!parsed) {
    secretMatches(token, undefined);
    return null;
  }
  const { rows } = await db.query<PortalLinkRow & { secret_hash: Buffer }>(
    `SELECT secret_hash, ${COLUMNS} FROM portal_links
      WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
    [parsed.id],
  );
  const row = rows[0];
  if (!secretMatches(parsed.secret, row?.secret_hash) || !row) return null;
  return fromRow(row);
}
