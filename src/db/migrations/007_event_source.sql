-- Which inbound source sent an event (null: the operator's API, single or batch). Sources are only ever
-- soft-deleted, so the reference stays valid for the life of the event.
ALTER TABLE events ADD COLUMN source_id text REFERENCES sources (id);
