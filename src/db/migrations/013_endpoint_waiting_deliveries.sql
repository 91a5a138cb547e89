-- migrate: no-transaction
-- An endpoint disabled or deleted ends its waiting deliveries at once (src/ingest/endpoint-waits.ts): they
-- are read 100 at a time in id order, so a backlog of thousands is paged from this index, never sorted.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_endpoint_waiting ON deliveries (endpoint_id, id) WHERE status IN ('pending', 'retrying');
-- Built CONCURRENTLY, outside a transaction: deliveries is the largest table, and a plain build would
-- block every delivery write (intake included) until it finished.
