-- What inbound sources sent lately, for the operator to read (GET /v1/sources/{id}/requests): each request
-- to a known source, accepted or refused, with the answer's status and the reason as a code. Never the
-- token, the signature or the body. Kept 7 days: each new request of a source removes its older ones.
CREATE TABLE inbound_requests (
  id           text PRIMARY KEY,
  operator_id  text NOT NULL,
  source_id    text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  method       text NOT NULL,
  ip           text NOT NULL,
  status       integer NOT NULL,
  reason       text,
  event_ids    text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX inbound_requests_source ON inbound_requests (source_id, created_at DESC, id DESC);

-- Each attempt's request as it went out (method, URL, headers, the body's first 4 KiB), for the attempt log:
-- header values that may be secrets (the signature, the endpoint's own headers) are masked before storing.
-- Null for attempts logged before this column, or logged by the workflow after PostgreSQL was away.
ALTER TABLE delivery_attempts ADD COLUMN request jsonb;
