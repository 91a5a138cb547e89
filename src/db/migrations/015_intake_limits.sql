-- Per-operator intake limits (issue 15, item 7): events per second and a burst, set by the admin per
-- operator (NULL: unlimited). The bucket is shared by every API process: one row per limited operator,
-- refilled by elapsed time and drawn in the same statement, so N API processes admit what one would.
ALTER TABLE operators ADD COLUMN intake_per_second integer CHECK (intake_per_second > 0);
ALTER TABLE operators ADD COLUMN intake_burst integer CHECK (intake_burst > 0);

CREATE TABLE intake_buckets (
  operator_id  text PRIMARY KEY,
  -- Events that may still be admitted now (a rate, not money: a float is exact enough).
  tokens       double precision NOT NULL,
  at           timestamptz NOT NULL
);
