-- migrate: no-transaction
-- The deliveries waiting for an endpoint's breaker, longest waiting first: the next probe is handed to the
-- first, and a closing breaker wakes them all in that order, 100 at a time, never sorting the backlog.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_breaker_waiting ON deliveries (endpoint_id, breaker_wait_since, id) WHERE breaker_wait_since IS NOT NULL;
-- Built CONCURRENTLY, outside a transaction: deliveries is the largest table, and a plain build would
-- block every delivery write (intake included) until it finished.
