-- migrate: no-transaction
-- Retention (issue 15, item 6; src/db/retention.ts). The ledger is kept for ever, but the events that caused
-- its entries expire once no open commission, clawback window or later chargeback needs them: the entry's
-- event_id stays as plain text (the id the operator sent; commission explanations and exports show it),
-- no longer a reference that would refuse the event's deletion. Only the catalogue changes (nothing is
-- scanned); the lock is given up after 10 s rather than queue intake behind a long transaction (run the
-- migration again).
SET lock_timeout = '10s';
ALTER TABLE commission_entries DROP CONSTRAINT IF EXISTS commission_entries_operator_id_event_id_fkey;
RESET lock_timeout;

-- The clean-up walks each table in time order, a batch at a time, from these indexes: never a scan of the
-- table, and rows kept past their period (protected) are stepped over by the keyset, not read again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_received ON events (received_at, operator_id, event_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_completed ON deliveries (completed_at, id) WHERE completed_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS delivery_attempts_started ON delivery_attempts (started_at, delivery_id, number);
-- Built CONCURRENTLY, outside a transaction: these are the largest tables, and a plain build would block
-- every write to them (intake included) until it finished.
