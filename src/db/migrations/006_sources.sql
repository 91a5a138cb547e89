-- Inbound sources: systems that push events for an operator without its API key (a platform's webhooks, a
-- tracker's postbacks). The source identifies the operator. Its secret (a `whsec_` key for Standard Webhooks
-- signatures, or a token for the URL path) is stored only sealed with AES-256-GCM, bound to the source id;
-- previous secrets keep verifying until their grace period ends.
CREATE TABLE sources (
  id                text PRIMARY KEY,
  operator_id       text NOT NULL REFERENCES operators (id),
  name              text NOT NULL,
  verification      text NOT NULL CHECK (verification IN ('hmac', 'token')),
  secret_sealed     text NOT NULL,
  previous_secrets  jsonb NOT NULL DEFAULT '[]',
  ip_allowlist      text[] NOT NULL DEFAULT '{}',
  -- GET postbacks: query field -> canonical path(s), values of the type field -> event types, constants.
  field_map         jsonb NOT NULL DEFAULT '{}',
  status_map        jsonb NOT NULL DEFAULT '{}',
  defaults          jsonb NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  deleted_at        timestamptz
);
CREATE INDEX sources_operator ON sources (operator_id, created_at) WHERE deleted_at IS NULL;

-- Signed messages a source has presented, to refuse replays: the same webhook-id with the same
-- webhook-timestamp is refused. A row matters only while its timestamp is inside the tolerance window (older
-- messages are refused as stale anyway), so rows are pruned once they are past it.
CREATE TABLE inbound_messages (
  source_id    text NOT NULL REFERENCES sources (id),
  message_id   text NOT NULL,
  signed_at    timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, message_id, signed_at)
);
CREATE INDEX inbound_messages_signed_at ON inbound_messages (signed_at);
