-- An event goes to the endpoints subscribed when it was accepted (events.received_at), not to whichever
-- exist when its workflow runs. Each endpoint keeps the history of its subscription: one version per change
-- of its event types, affiliate scope or enabled flag, valid from the moment it was written until the
-- next version's. The fan-out (findSubscriptions) takes, per endpoint, the latest version written at or
-- before the event's acceptance, and still requires the endpoint to be enabled and not deleted now.
CREATE TABLE endpoint_subscriptions (
  endpoint_id  text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  -- Orders versions written at the same instant (several changes in one transaction).
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  valid_from   timestamptz NOT NULL,
  event_types  text[] NOT NULL,
  affiliate_id text,
  enabled      boolean NOT NULL,
  PRIMARY KEY (endpoint_id, valid_from, seq)
);

-- Written by the very statement that creates or changes the endpoint, whoever issues it. clock_timestamp(),
-- not now(): the row lock of the UPDATE is held by then, so versions of one endpoint are ordered as their
-- writes were, even when the transactions started in the other order. An event whose 202 was answered
-- before the change began has a received_at (its transaction's start) before the version's valid_from.
CREATE FUNCTION endpoint_subscription_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO endpoint_subscriptions (endpoint_id, valid_from, event_types, affiliate_id, enabled)
  VALUES (NEW.id, clock_timestamp(), NEW.event_types, NEW.affiliate_id, NEW.enabled AND NEW.deleted_at IS NULL);
  RETURN NULL;
END;
$$;

CREATE TRIGGER endpoint_subscription_created AFTER INSERT ON endpoints
  FOR EACH ROW EXECUTE FUNCTION endpoint_subscription_version();

CREATE TRIGGER endpoint_subscription_changed AFTER UPDATE ON endpoints
  FOR EACH ROW
  WHEN (OLD.event_types IS DISTINCT FROM NEW.event_types
        OR OLD.affiliate_id IS DISTINCT FROM NEW.affiliate_id
        OR OLD.enabled IS DISTINCT FROM NEW.enabled
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION endpoint_subscription_version();

-- Endpoints that exist already: their subscription as it stands holds for every event accepted so far, as
-- the fan-out did until now.
INSERT INTO endpoint_subscriptions (endpoint_id, valid_from, event_types, affiliate_id, enabled)
SELECT id, '-infinity', event_types, affiliate_id, enabled AND deleted_at IS NULL FROM endpoints;

-- Rotated-out secrets: rotation now keeps at most 3 live ones (src/db/secret-rotation.ts); rows rotated
-- before keep only their newest 3 live ones, so no request decrypts more.
UPDATE endpoints SET previous_secrets = (
  SELECT coalesce(jsonb_agg(s ORDER BY ord), '[]'::jsonb) FROM (
    SELECT s, ord FROM jsonb_array_elements(previous_secrets) WITH ORDINALITY a(s, ord)
     WHERE (s->>'expiresAt')::timestamptz > now()
     ORDER BY ord DESC LIMIT 3) kept)
 WHERE jsonb_array_length(previous_secrets) > 0;

UPDATE sources SET previous_secrets = (
  SELECT coalesce(jsonb_agg(s ORDER BY ord), '[]'::jsonb) FROM (
    SELECT s, ord FROM jsonb_array_elements(previous_secrets) WITH ORDINALITY a(s, ord)
     WHERE (s->>'expiresAt')::timestamptz > now()
     ORDER BY ord DESC LIMIT 3) kept)
 WHERE jsonb_array_length(previous_secrets) > 0;
