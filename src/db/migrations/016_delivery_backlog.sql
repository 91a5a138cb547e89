-- migrate: no-transaction
-- The metrics' backlog gauges (src/db/delivery-backlog.ts) count deliveries waiting to retry and dead
-- letters at each scrape (cached 5 s): from this small partial index, never a scan of every delivery.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_backlog ON deliveries (status) WHERE status IN ('retrying', 'failed');
-- Built CONCURRENTLY, outside a transaction: deliveries is the largest table, and a plain build would
-- block every delivery write (intake included) until it finished.
