-- Replays of an endpoint from the catch-up feed (POST /v1/endpoints/{id}/replay; src/db/replays.ts). One
-- row per replay: the range of feed positions it covers, the subscription it judges items by (the
-- endpoint's types, affiliate scope and filter when it was asked for: a later edit does not change what
-- a replay under way sends), where its workflow has got to, and its counts.
--
-- The range is (after, until_exclusive): `after` as the caller's cursor names it, the end as the caller's
-- `until` cursor plus one sequence (so the item it names is included), or the feed's horizon when the
-- replay was asked for (every row below it was visible then; rows written later are being delivered
-- anyway). `cursor` is the last position a page has dealt with; `pages` how many pages that took, which
-- the workflow's activity compares with its own page number so a retried page is never counted twice.
-- `last_page` keeps what the last page queued (event id -> delivery ids): a retried page signals those
-- again, never queues them again.
CREATE TABLE endpoint_replays (
  id                      text PRIMARY KEY,
  operator_id             text NOT NULL,
  endpoint_id             text NOT NULL REFERENCES endpoints (id),
  after_xid               xid8 NOT NULL,
  after_seq               bigint NOT NULL,
  until_xid               xid8 NOT NULL,
  until_seq               bigint NOT NULL,
  missing_only            boolean NOT NULL DEFAULT false,
  event_types             text[] NOT NULL,
  affiliate_id            text,
  filter                  jsonb,
  workflow_id             text NOT NULL,
  status                  text NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  failure                 text,
  cursor_xid              xid8 NOT NULL,
  cursor_seq              bigint NOT NULL,
  pages                   integer NOT NULL DEFAULT 0,
  last_page               jsonb NOT NULL DEFAULT '{}',
  scanned                 integer NOT NULL DEFAULT 0,
  queued                  integer NOT NULL DEFAULT 0,
  resent_succeeded        integer NOT NULL DEFAULT 0,
  in_progress             integer NOT NULL DEFAULT 0,
  skipped_not_subscribed  integer NOT NULL DEFAULT 0,
  skipped_filtered        integer NOT NULL DEFAULT 0,
  skipped_succeeded       integer NOT NULL DEFAULT 0,
  skipped_replaced        integer NOT NULL DEFAULT 0,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  completed_at            timestamptz
);
CREATE INDEX endpoint_replays_endpoint ON endpoint_replays (operator_id, endpoint_id, created_at DESC);
