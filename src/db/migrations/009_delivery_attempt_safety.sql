-- One send per attempt, across worker crashes: the attempt a worker is sending right now. Set when the
-- delivery is loaded for an attempt, cleared when the attempt is logged. A mark found on the next load is
-- an attempt whose worker died during it: logged as "outcome unknown" before the next one, so the attempt
-- log accounts for every request the receiver may have seen. The API answers retry-now with 409 meanwhile.
ALTER TABLE deliveries ADD COLUMN in_flight_attempt integer;
ALTER TABLE deliveries ADD COLUMN in_flight_since timestamptz;

-- The send slot a rate-limited delivery reserved and waits for (a server-side timer, not a worker slot).
-- The next try uses it instead of reserving again; a delivery that ends without using it releases it.
ALTER TABLE deliveries ADD COLUMN slot_at timestamptz;

-- Set by the API's cancel before it signals: a cancellation the running attempt must honour (abort the
-- request), told apart from a retry-now, which lets the attempt on the wire finish.
ALTER TABLE deliveries ADD COLUMN cancel_requested_at timestamptz;

-- Response bodies are stored as a printable preview (any bytes fit); these keep what the preview cannot.
ALTER TABLE delivery_attempts ADD COLUMN response_bytes integer;
ALTER TABLE delivery_attempts ADD COLUMN response_content_type text;
