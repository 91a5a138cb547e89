-- Operators (tenants) and their API keys. Keys are stored only as SHA-256 hashes of their secret part.
CREATE TABLE operators (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  operator_id  text NOT NULL REFERENCES operators (id),
  secret_hash  bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_operator ON api_keys (operator_id);

-- Every event an operator submitted. The row is the durable record and the outbox of its workflow start:
-- workflow_started_at is null until the start is confirmed, and the reconciler starts what is left over.
CREATE TABLE events (
  operator_id          text NOT NULL REFERENCES operators (id),
  event_id             text NOT NULL,
  type                 text NOT NULL,
  occurred_at          timestamptz NOT NULL,
  customer_id          text NOT NULL,
  payload              jsonb NOT NULL,
  body_hash            text NOT NULL,
  workflow_id          text NOT NULL,
  received_at          timestamptz NOT NULL DEFAULT now(),
  workflow_started_at  timestamptz,
  acknowledged_at      timestamptz,
  status               text NOT NULL DEFAULT 'received'
                       CHECK (status IN ('received', 'processing', 'processed', 'failed')),
  processed_at         timestamptz,
  facts                jsonb,
  PRIMARY KEY (operator_id, event_id)
);
CREATE INDEX events_unstarted ON events (received_at) WHERE workflow_started_at IS NULL;
CREATE INDEX events_customer ON events (operator_id, customer_id, occurred_at);

-- What the orchestrator knows of each customer: the affiliate binding from registration and the FTD.
CREATE TABLE customers (
  operator_id             text NOT NULL REFERENCES operators (id),
  customer_id             text NOT NULL,
  attribution             jsonb,
  attributed_by_event_id  text,
  country                 text,
  registered_at           timestamptz,
  ftd_event_id            text,
  ftd_deposit_id          text,
  ftd_amount              numeric(28, 8),
  ftd_currency            text,
  ftd_at                  timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, customer_id)
);
