-- Which inbound source sent an event (null: the operator's API, single or batch). Sources are only ever
-- soft-deleted, so the reference stays valid for the life of the event.
ALTER TABLE events ADD COLUMN source_id text REFERENCES sources (id);

-- applyEvent looks up a customer's recorded registration when the customer is not yet bound (a deposit
-- applied before its registration): one index entry per registration, not a scan of the customer's events.
CREATE INDEX events_registration ON events (operator_id, customer_id, occurred_at)
  WHERE type = 'customer.registered';
