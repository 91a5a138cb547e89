-- Per-endpoint rate limits, enforced across every worker: each attempt reserves the next free send slot.
CREATE TABLE endpoint_send_slots (
  endpoint_id  text PRIMARY KEY REFERENCES endpoints (id),
  next_slot    timestamptz NOT NULL
);
