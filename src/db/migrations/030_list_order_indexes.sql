-- migrate: no-transaction
-- Every list is read newest first by (the millisecond of created_at, id) (src/db/keyset.ts). Its key is now
-- the millisecond of the UTC wall-clock time, an immutable expression, so these indexes hold the lists in
-- their order: a page reads `limit` rows from the index where it read and sorted the tenant's whole list
-- (a first page of 100,000 deliveries took 45 ms of PostgreSQL time, growing with the list). They replace
-- the indexes on the raw created_at, which the sort could not use. Built CONCURRENTLY, outside a
-- transaction: deliveries and commission_entries are the largest tables, and writes go on while they build.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_operator_newest
  ON deliveries (operator_id, date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS deliveries_operator_created;
-- One endpoint's deliveries in the same order: the list filtered by endpoint, and by affiliate (which reads
-- each of the affiliate's endpoints this way), read `limit` rows however rare the endpoint is among the
-- operator's (an affiliate with 10 deliveries among 100,000 read all 100,000 through the operator's index).
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_endpoint_newest
  ON deliveries (endpoint_id, date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS commission_entries_affiliate_newest
  ON commission_entries (operator_id, affiliate_id, date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS commission_entries_affiliate;
CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_requests_source_newest
  ON inbound_requests (source_id, date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS inbound_requests_source;
