-- The catch-up feed (GET /v1/feed; src/db/feed.ts): one row per event the orchestrator emitted to
-- receivers, as each type it is delivered as (a first deposit is `deposit.completed` and `deposit.ftd`),
-- written in the transaction that decides it is emitted (the event's application, or the record of an
-- event emitted already applied: commission, affiliate and operational events).
--
-- A feed must never skip a row. seq alone cannot promise it: transactions take seq values in one order
-- and commit in another, so a reader that has passed seq 12 can later see 11 appear. Each row therefore
-- carries the id of the transaction that wrote it (xid8, never wraps), the feed is ordered by (xid, seq),
-- and a reader only returns rows whose transaction is older than its snapshot's xmin: every transaction
-- below xmin has ended, so no row can later appear before a position already handed out.
--
-- Rows go with their event: the retention clean-up deleting an event deletes its feed rows.
-- Events emitted before this migration are not in the feed (the feed begins with this version).
CREATE TABLE feed_items (
  seq           bigserial,
  xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
  operator_id   text NOT NULL,
  event_id      text NOT NULL,
  type          text NOT NULL,
  affiliate_id  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, xid, seq),
  UNIQUE (operator_id, event_id, type),
  FOREIGN KEY (operator_id, event_id) REFERENCES events (operator_id, event_id) ON DELETE CASCADE
);
-- `?affiliateId=` walks one affiliate's rows in feed order.
CREATE INDEX feed_items_affiliate ON feed_items (operator_id, affiliate_id, xid, seq)
  WHERE affiliate_id IS NOT NULL;
