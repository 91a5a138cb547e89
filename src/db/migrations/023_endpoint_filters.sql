-- Endpoint filters (src/domain/routing-filter.ts): beyond its event types, an endpoint may receive only the
-- events whose brand, country, attribution or data satisfy its filter. Null: every event of its types, as
-- before. Part of the subscription, so it is versioned with it: an event is judged by the filter in force
-- when it was accepted, as its types are.
ALTER TABLE endpoints ADD COLUMN filter jsonb;
ALTER TABLE endpoint_subscriptions ADD COLUMN filter jsonb;

-- Why a filtered endpoint got the delivery: the filter it was judged by and each clause's result
-- ({filter, reasons}); null when the endpoint had no filter. No default: adding it rewrites nothing.
ALTER TABLE deliveries ADD COLUMN routing jsonb;

CREATE OR REPLACE FUNCTION endpoint_subscription_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO endpoint_subscriptions (endpoint_id, valid_from, event_types, affiliate_id, enabled, filter)
  VALUES (NEW.id, clock_timestamp(), NEW.event_types, NEW.affiliate_id, NEW.enabled AND NEW.deleted_at IS NULL,
          NEW.filter);
  RETURN NULL;
END;
$$;

DROP TRIGGER endpoint_subscription_changed ON endpoints;
CREATE TRIGGER endpoint_subscription_changed AFTER UPDATE ON endpoints
  FOR EACH ROW
  WHEN (OLD.event_types IS DISTINCT FROM NEW.event_types
        OR OLD.affiliate_id IS DISTINCT FROM NEW.affiliate_id
        OR OLD.enabled IS DISTINCT FROM NEW.enabled
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
        OR OLD.filter IS DISTINCT FROM NEW.filter)
  EXECUTE FUNCTION endpoint_subscription_version();
