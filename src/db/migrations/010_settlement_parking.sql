-- Settlement that no single event can stop (issue 12). A commission event whose settlement fails
-- deterministically (a date or an amount no ledger column can hold, a deal that overflows) is parked:
-- the settlement skips it and goes on with the customer's other events; an operator re-settles it by
-- hand (POST /v1/events/{id}/resettle) once the deal is fixed.
ALTER TABLE events ADD COLUMN settlement_parked_at timestamptz;
ALTER TABLE events ADD COLUMN settlement_error text;
CREATE INDEX events_settlement_parked ON events (operator_id, customer_id)
  WHERE settlement_parked_at IS NOT NULL;

-- An event settled before the customer had an affiliate (its registration not yet applied) earned
-- nothing: it is re-evaluated once the customer is attributed, so no commission falls through.
ALTER TABLE events ADD COLUMN settled_unattributed boolean NOT NULL DEFAULT false;
CREATE INDEX events_settled_unattributed ON events (operator_id, customer_id)
  WHERE settled_unattributed;

-- A customer's revenue.daily is one figure per (day, currency): a correction sent under a new event id
-- replaces it, and only the difference moves the RevShare account (src/commission/settle.ts).
CREATE TABLE revenue_days (
  operator_id   text NOT NULL,
  customer_id   text NOT NULL,
  day           date NOT NULL,
  currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  ngr           numeric(28, 8) NOT NULL,
  event_id      text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, customer_id, day, currency)
);

-- A settlement reads the customer's unsettled events through this index, not every event the customer
-- ever had (a busy trader's history). Event types no deal reads stay in it, a few rows per customer.
CREATE INDEX events_unsettled ON events (operator_id, customer_id, occurred_at) WHERE settled_at IS NULL;
