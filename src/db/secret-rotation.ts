/**
 * The statement that rotates a signing or verification secret (endpoints, sources): the current secret
 * joins `previous_secrets` until `$4` ms from now, expired ones are dropped, `$3` becomes current. Takes
 * `$1` operator id and `$2` row id; answers the row, or nothing for an unknown or deleted one.
 */
export function rotateSecretStatement(table: 'endpoints' | 'sources'): string {
  return `UPDATE ${table}
        SET previous_secrets = (
              SELECT coalesce(jsonb_agg(s), '[]'::jsonb) FROM (
                SELECT s FROM jsonb_array_elements(previous_secrets) s
                 WHERE (s->>'expiresAt')::timestamptz > now()
                UNION ALL
                SELECT jsonb_build_object('sealed', secret_sealed,
                         'expiresAt', to_jsonb(now() + make_interval(secs => $4::double precision / 1000)))
              ) kept(s)),
            secret_sealed = $3,
            updated_at = now()
      WHERE operator_id = $1 AND id = $2 AND deleted_at IS NULL
      RETURNING *`;
}

/** At most this many rotated-out secrets stay live beside the current one (newest kept). */
export const MAX_PREVIOUS_SECRETS = 3;
