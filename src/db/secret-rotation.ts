/**
 * Rotation of signing and verification secrets (endpoints, sources). A rotated-out secret stays live beside
 * the current one until its grace period ends, so receivers (or senders) can switch over; then it is dead.
 *
 * Bounds: every signature header carries one signature per live secret, and an unauthenticated inbound
 * request costs one decryption per live secret, so at most MAX_PREVIOUS_SECRETS rotated-out secrets stay
 * live (the newest; a further rotation within the grace period ends the oldest early). Expired ones are
 * dropped at each rotation and ignored on every read.
 */

/** At most this many rotated-out secrets stay live beside the current one (newest kept). */
export const MAX_PREVIOUS_SECRETS = 3;

/**
 * The statement that rotates a secret: the current one joins `previous_secrets` until `$4` ms from now
 * (with a grace of 0 it is kept only as a record of when it stopped, already expired), expired ones are
 * dropped, at most MAX_PREVIOUS_SECRETS live ones are kept (the newest), and `$3` becomes current. Takes
 * `$1` operator id and `$2` row id; answers the row, or nothing for an unknown or deleted one.
 */
export function rotateSecretStatement(table: 'endpoints' | 'sources'): string {
  return `UPDATE ${table}
        SET previous_secrets = (
              SELECT coalesce(jsonb_agg(s ORDER BY ord), '[]'::jsonb) FROM (
                SELECT s, ord FROM (
                  SELECT s, ord FROM jsonb_array_elements(previous_secrets) WITH ORDINALITY a(s, ord)
                   WHERE (s->>'expiresAt')::timestamptz > now()
                  UNION ALL
                  SELECT jsonb_build_object('sealed', secret_sealed,
                           'expiresAt', to_jsonb(now() + make_interval(secs => $4::double precision / 1000))),
                         jsonb_array_length(previous_secrets) + 1
                ) candidates(s, ord)
                ORDER BY ord DESC
                -- the just-expired record of a zero grace takes no live secret's place
                LIMIT ${MAX_PREVIOUS_SECRETS} + CASE WHEN $4::double precision > 0 THEN 0 ELSE 1 END
              ) kept(s, ord)),
            secret_sealed = $3,
            updated_at = now()
      WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL
      RETURNING *`;
}

/**
 * The rotated-out secrets (stored oldest first) that still count at `nowMs`: unexpired, at most the newest
 * MAX_PREVIOUS_SECRETS (a row written before the cap could hold more). Only these are ever decrypted.
 */
export function livePreviousSecrets<S extends { expiresAt: string }>(
  stored: readonly S[],
  nowMs: number,
): S[] {
  return stored.filter((s) => Date.parse(s.expiresAt) > nowMs).slice(-MAX_PREVIOUS_SECRETS);
}
