import { randomBytes } from 'node:crypto';
import type { RetryPolicy } from '../domain/retry-policy.js';
import type { IntakeLimit } from './intake-buckets.js';
import { newId, randomBase62 } from './new-id.js';
import { withTransaction, type Pool, type Queryable } from './pool.js';
import { hashSecret, secretMatches } from './secret-hash.js';

/** Repository of operators (tenants) and their API keys. */

export interface Operator {
  id: string;
  name: string;
  createdAt: Date;
  /** Events per second and burst its intake admits, across API processes; null: unlimited. */
  intakeLimit: IntakeLimit | null;
}

interface OperatorRow {
  id: string;
  name: string;
  created_at: Date;
  intake_per_second: number | null;
  intake_burst: number | null;
}

const OPERATOR_COLUMNS = 'o.id, o.name, o.created_at, o.intake_per_second, o.intake_burst';

function operatorOf(r: OperatorRow): Operator {
  const limit =
    r.intake_per_second && r.intake_burst ? { perSecond: r.intake_per_second, burst: r.intake_burst } : null;
  return { id: r.id, name: r.name, createdAt: r.created_at, intakeLimit: limit };
}

const KEY_PREFIX = 'ahk_';

/** Splits `ahk_<keyId>_<secret>`; null when the shape is wrong. */
function parseApiKey(apiKey: string): { keyId: string; secret: string } | null {
  const match = /^ahk_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/.exec(apiKey);
  return match ? { keyId: `key_${match[1]}`, secret: match[2]! } : null;
}

/** Creates an operator with its first API key; the key is returned once and stored only as a hash. */
export async function createOperator(
  pool: Pool,
  name: string,
  intakeLimit: IntakeLimit | null = null,
): Promise<{ operator: Operator; apiKey: string }> {
  const id = newId('operator');
  const keyPublic = randomBase62(16);
  const secret = randomBytes(32).toString('base64url');
  const apiKey = `${KEY_PREFIX}${keyPublic}_${secret}`;
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ created_at: Date }>(
      'INSERT INTO operators (id, name, intake_per_second, intake_burst) VALUES ($1, $2, $3, $4) RETURNING created_at',
      [id, name, intakeLimit?.perSecond ?? null, intakeLimit?.burst ?? null],
    );
    await tx.query('INSERT INTO api_keys (id, operator_id, secret_hash) VALUES ($1, $2, $3)', [
      `key_${keyPublic}`,
      id,
      hashSecret(secret),
    ]);
    return { operator: { id, name, createdAt: rows[0]!.created_at, intakeLimit }, apiKey };
  });
}

/**
 * Resolves an API key to its operator, or null. The stored hash is compared in constant time, and an
 * unknown key id still costs a comparison, so timing tells nothing about which part was wrong.
 */
export async function findOperatorByApiKey(db: Queryable, apiKey: string): Promise<Operator | null> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) {
    secretMatches(apiKey, undefined);
    return null;
  }
  const { rows } = await db.query<OperatorRow & { secret_hash: Buffer }>(
    `SELECT k.secret_hash, ${OPERATOR_COLUMNS}
       FROM api_keys k JOIN operators o ON o.id = k.operator_id
      WHERE k.id = $1 AND k.revoked_at IS NULL`,
    [parsed.keyId],
  );
  const row = rows[0];
  if (!secretMatches(parsed.secret, row?.secret_hash) || !row) return null;
  return operatorOf(row);
}

/** Sets (or, with null, lifts) an operator's intake limit; null when there is no such operator. */
export async function setIntakeLimit(
  db: Queryable,
  operatorId: string,
  limit: IntakeLimit | null,
): Promise<Operator | null> {
  const { rows } = await db.query<OperatorRow>(
    `UPDATE operators o SET intake_per_second = $2, intake_burst = $3 WHERE o.id = $1
     RETURNING ${OPERATOR_COLUMNS}`,
    [operatorId, limit?.perSecond ?? null, limit?.burst ?? null],
  );
  return rows[0] ? operatorOf(rows[0]) : null;
}

/** The operator's default retry policy for new deliveries, or null for the built-in one. */
export async function operatorRetryPolicy(db: Queryable, operatorId: string): Promise<RetryPolicy | null> {
  const { rows } = await db.query<{ default_retry_policy: RetryPolicy | null }>(
    'SELECT default_retry_policy FROM operators WHERE id = $1',
    [operatorId],
  );
  return rows[0]?.default_retry_policy ?? null;
}
