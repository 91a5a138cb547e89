-- Affiliate portal links: a short-lived, read-only token for one affiliate of one operator. Like API keys,
-- only the SHA-256 of the token's secret part is stored; the token is shown once. Scope and expiry are
-- fixed at minting; revoked_at ends the link at once (portal tokens are never cached).
CREATE TABLE portal_links (
  id            text PRIMARY KEY,
  operator_id   text NOT NULL,
  affiliate_id  text NOT NULL,
  secret_hash   bytea NOT NULL,
  scope         text[] NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  FOREIGN KEY (operator_id, affiliate_id) REFERENCES affiliates (operator_id, affiliate_id)
);
CREATE INDEX portal_links_affiliate ON portal_links (operator_id, affiliate_id, created_at DESC, id DESC);
