-- Endpoints: where an operator's events are delivered. Signing secrets are stored encrypted (AES-256-GCM,
-- key from the environment); previous secrets keep signing until their grace period ends.
CREATE TABLE endpoints (
  id                     text PRIMARY KEY,
  operator_id            text NOT NULL REFERENCES operators (id),
  url                    text NOT NULL,
  description            text,
  event_types            text[] NOT NULL,
  affiliate_id           text,
  format                 text NOT NULL DEFAULT 'webhook' CHECK (format IN ('webhook', 'postback')),
  headers                jsonb NOT NULL DEFAULT '{}',
  retry_policy           jsonb,
  timeout_ms             integer NOT NULL DEFAULT 15000,
  rate_limit_per_second  integer,
  postback               jsonb,
  enabled                boolean NOT NULL DEFAULT true,
  disabled_reason        text,
  disabled_at            timestamptz,
  secret_sealed          text NOT NULL,
  previous_secrets       jsonb NOT NULL DEFAULT '[]',
  failing_since          timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  deleted_at             timestamptz
);
CREATE INDEX endpoints_operator ON endpoints (operator_id, created_at) WHERE deleted_at IS NULL;

ALTER TABLE operators ADD COLUMN default_retry_policy jsonb;

-- One delivery per (event, endpoint, delivered type). Its id is also the webhook-id every attempt carries.
CREATE TABLE deliveries (
  id               text PRIMARY KEY,
  operator_id      text NOT NULL REFERENCES operators (id),
  event_id         text NOT NULL,
  endpoint_id      text NOT NULL REFERENCES endpoints (id),
  event_type       text NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'cancelled')),
  retry_policy     jsonb NOT NULL,
  attempt_count    integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  last_error       text,
  workflow_id      text NOT NULL,
  redrive_count    integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  UNIQUE (operator_id, event_id, endpoint_id, event_type),
  FOREIGN KEY (operator_id, event_id) REFERENCES events (operator_id, event_id)
);
CREATE INDEX deliveries_operator_created ON deliveries (operator_id, created_at DESC, id DESC);
CREATE INDEX deliveries_endpoint_status ON deliveries (endpoint_id, status, updated_at);
CREATE INDEX deliveries_event ON deliveries (operator_id, event_id);

-- Every attempt of a delivery, as the receiver answered it. Response bodies are cut at 4 KiB.
CREATE TABLE delivery_attempts (
  delivery_id    text NOT NULL REFERENCES deliveries (id),
  number         integer NOT NULL,
  started_at     timestamptz NOT NULL,
  duration_ms    integer NOT NULL,
  status_code    integer,
  error_class    text,
  error_message  text,
  response_body  text,
  PRIMARY KEY (delivery_id, number)
);
