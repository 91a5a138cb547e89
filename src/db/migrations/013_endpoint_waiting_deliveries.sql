-- An endpoint disabled or deleted ends its waiting deliveries at once (src/ingest/endpoint-waits.ts): they
-- are read 100 at a time in id order, so a backlog of thousands is paged from this index, never sorted.
CREATE INDEX deliveries_endpoint_waiting ON deliveries (endpoint_id, id) WHERE status IN ('pending', 'retrying');
