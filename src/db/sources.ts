import type { Defaults, FieldMap, StatusMap } from '../contract/inbound-mapping.js';
import { newId } from './new-id.js';
import type { Queryable } from './pool.js';
import { rotateSecretStatement } from './secret-rotation.js';
import { afterCursor, NEWEST_FIRST } from './keyset.js';

/**
 * Repository of inbound sources and of the signed messages they presented (replay refusal). Secrets arrive
 * and leave sealed: encryption is the caller's (SecretCipher, bound to the source id).
 */

export type SourceVerification = 'hmac' | 'token';

export interface PreviousSourceSecret {
  sealed: string;
  expiresAt: string;
}

export interface Source {
  id: string;
  operatorId: string;
  name: string;
  verification: SourceVerification;
  secretSealed: string;
  previousSecrets: PreviousSourceSecret[];
  ipAllowlist: string[];
  fieldMap: FieldMap;
  statusMap: StatusMap;
  defaults: Defaults;
  createdAt: Date;
  updatedAt: Date;
}

interface SourceRow {
  id: string;
  operator_id: string;
  name: string;
  verification: SourceVerification;
  secret_sealed: string;
  previous_secrets: PreviousSourceSecret[];
  ip_allowlist: string[];
  field_map: FieldMap;
  status_map: StatusMap;
  defaults: Defaults;
  created_at: Date;
  updated_at: Date;
}

function fromRow(r: SourceRow): Source {
  return {
    id: r.id,
    operatorId: r.operator_id,
    name: r.name,
    verification: r.verification,
    secretSealed: r.secret_sealed,
    previousSecrets: r.previous_secrets,
    ipAllowlist: r.ip_allowlist,
    fieldMap: r.field_map,
    statusMap: r.status_map,
    defaults: r.defaults,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface SourceFields {
  name: string;
  ipAllowlist: string[];
  fieldMap: FieldMap;
  statusMap: StatusMap;
  defaults: Defaults;
}

/** Mints the id first so the secret can be sealed with the id as its context. */
export function newSourceId(): string {
  return newId('source');
}

export async function insertSource(
  db: Queryable,
  operatorId: string,
  id: string,
  verification: SourceVerification,
  f: SourceFields,
  secretSealed: string,
): Promise<Source> {
  const { rows } = await db.query<SourceRow>(
    `INSERT INTO sources (id, operator_id, name, verification, secret_sealed, ip_allowlist, field_map,
                          status_map, defaults)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     RETURNING *`,
    [id, operatorId, f.name, verification, secretSealed, f.ipAllowlist, f.fieldMap, f.statusMap, f.defaults],
  );
  return fromRow(rows[0]!);
}

/** One of the operator's sources; another operator's is null, exactly like a missing one. */
export async function findSource(db: Queryable, operatorId: string, id: string): Promise<Source | null> {
  const { rows } = await db.query<SourceRow>(
    'SELECT * FROM sources WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL',
    [operatorId, id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The source an inbound request names; it carries its operator (inbound requests have no API key). */
export async function findSourceForInbound(db: Queryable, id: string): Promise<Source | null> {
  const { rows } = await db.query<SourceRow>('SELECT * FROM sources WHERE id = $1 AND deleted_at IS NULL', [
    id,
  ]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Newest first, keyset-paginated like endpoints (created_at truncated to the cursor's milliseconds). */
export async function listSources(
  db: Queryable,
  operatorId: string,
  limit: number,
  cursor: { createdAt: string; id: string } | null,
): Promise<Source[]> {
  const { rows } = await db.query<SourceRow>(
    `SELECT * FROM sources
      WHERE operator_id = $1 AND deleted_at IS NULL
        AND ${afterCursor(2, 3)}
      ${NEWEST_FIRST}
      LIMIT $4`,
    [operatorId, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
  );
  return rows.map(fromRow);
}

const UPDATABLE: Record<keyof SourceFields, string> = {
  name: 'name',
  ipAllowlist: 'ip_allowlist',
  fieldMap: 'field_map',
  statusMap: 'status_map',
  defaults: 'defaults',
};

export async function updateSource(
  db: Queryable,
  operatorId: string,
  id: string,
  patch: Partial<SourceFields>,
): Promise<Source | null> {
  const sets: string[] = [];
  const values: unknown[] = [operatorId, id];
  for (const [key, column] of Object.entries(UPDATABLE) as [keyof SourceFields, string][]) {
    if (patch[key] === undefined) continue;
    values.push(patch[key]);
    sets.push(`${column} = $${values.length}`);
  }
  sets.push('updated_at = now()');
  const { rows } = await db.query<SourceRow>(
    `UPDATE sources SET ${sets.join(', ')} WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING *`,
    values,
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Soft delete: from now on the source verifies nothing, so every request naming it is refused. */
export async function deleteSource(db: Queryable, operatorId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sources SET deleted_at = now(), updated_at = now()
      WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [operatorId, id],
  );
  return rowCount === 1;
}

/** Makes `newSealed` current; the old secret keeps verifying until `graceMs` from now. */
export async function rotateSourceSecret(
  db: Queryable,
  operatorId: string,
  id: string,
  newSealed: string,
  graceMs: number,
): Promise<Source | null> {
  const { rows } = await db.query<SourceRow>(rotateSecretStatement('sources'), [
    operatorId,
    id,
    newSealed,
    graceMs,
  ]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * Records that the source presented this signed message (webhook-id and webhook-timestamp). False when it
 * had presented exactly this one before: a replay.
 */
export async function recordInboundMessage(
  db: Queryable,
  sourceId: string,
  messageId: string,
  signedAt: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO inbound_messages (source_id, message_id, signed_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [sourceId, messageId, signedAt],
  );
  return rowCount === 1;
}

/** Forgets a message whose request changed nothing (answered 503), so the sender may present it again. */
export async function forgetInboundMessage(
  db: Queryable,
  sourceId: string,
  messageId: string,
  signedAt: Date,
): Promise<void> {
  await db.query('DELETE FROM inbound_messages WHERE source_id = $1 AND message_id = $2 AND signed_at = $3', [
    sourceId,
    messageId,
    signedAt,
  ]);
}

/** Deletes messages signed longer ago than the tolerance: a replay of them is refused as stale anyway. */
export async function pruneInboundMessages(db: Queryable, toleranceMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM inbound_messages
      WHERE signed_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [toleranceMs],
  );
  return rowCount ?? 0;
}
