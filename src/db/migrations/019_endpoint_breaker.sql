-- Per-endpoint circuit breaker (src/db/endpoint-breaker.ts). An endpoint whose last attempts all failed
-- "opens": one delivery at a time probes it while the others wait without sending or spending attempts.
-- Counted on the endpoint row that every failed attempt already updates (failing_since), in the same
-- statement: the breaker adds no statement and no row write to an attempt.
-- Failures in a row; a delivery failing again counts only once another delivery has failed in between
-- (the last failing delivery is kept), so one delivery's own retries never open the breaker.
ALTER TABLE endpoints ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN breaker_last_failed text;
-- Set while open (or half-open); null when closed.
ALTER TABLE endpoints ADD COLUMN breaker_opened_at timestamptz;
-- When the current state began (opened, or last closed): what the API shows as `since`.
ALTER TABLE endpoints ADD COLUMN breaker_since timestamptz;
-- The earliest time the next probe may go out, and how many probes failed since the breaker opened.
ALTER TABLE endpoints ADD COLUMN breaker_probe_at timestamptz;
ALTER TABLE endpoints ADD COLUMN breaker_probes_failed integer NOT NULL DEFAULT 0;
-- The delivery that probes next (or is probing), and since when its probe is on the wire (half-open).
ALTER TABLE endpoints ADD COLUMN breaker_prober text;
ALTER TABLE endpoints ADD COLUMN breaker_probe_started_at timestamptz;
-- When the deliveries waiting for a closed breaker were last swept awake: a sweep the worker did not
-- finish (it stopped) is run again by the next delivery of the endpoint to load, 30 s on.
ALTER TABLE endpoints ADD COLUMN breaker_swept_at timestamptz;

-- Since when a delivery waits for its endpoint's breaker (no attempt spent meanwhile); null otherwise.
ALTER TABLE deliveries ADD COLUMN breaker_wait_since timestamptz;
-- When the delivery's current schedule began: set by a redrive; null means created_at. A delivery waiting
-- for the breaker ends when its whole schedule's time has passed from here.
ALTER TABLE deliveries ADD COLUMN schedule_started_at timestamptz;
