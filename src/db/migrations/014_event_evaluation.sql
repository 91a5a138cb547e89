-- Why a settled commission event earned what it did, per rule of the attributed affiliate's deal
-- (src/domain/commission/explain.ts): written by the statement that marks the event settled, so it costs
-- the settlement no extra round trip. A few hundred bytes per event. NULL for an event settled before
-- this column existed, one not settled yet, and one the commission engine does not read.
ALTER TABLE events ADD COLUMN evaluation jsonb;
