-- The commission engine's working state (issue: commission engine). The ledger (004) is the truth about
-- money; these rows are what the evaluator needs to decide the next entry, each changed only inside the
-- transaction that books the entries it leads to, so state and ledger never disagree.

-- One row per customer with a money-relevant event: the evaluator's folded facts and the commissions it
-- asked for (src/domain/commission/evaluate.ts CommissionState). Locked by every settlement of the customer.
CREATE TABLE commission_customers (
  operator_id   text NOT NULL REFERENCES operators (id),
  customer_id   text NOT NULL,
  state         jsonb NOT NULL,
  -- Events settled, in settlement order (also inside state.seenEventIds; kept as a count for the UI).
  settled       integer NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, customer_id)
);

-- RevShare accounts, one per affiliate and currency (src/domain/commission/revshare.ts): the month's NGR
-- level and the level paid up to. Customers of one affiliate share it, so a revenue event locks it.
CREATE TABLE revshare_accounts (
  operator_id   text NOT NULL,
  affiliate_id  text NOT NULL,
  currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  account       jsonb NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, affiliate_id, currency),
  FOREIGN KEY (operator_id, affiliate_id) REFERENCES affiliates (operator_id, affiliate_id)
);

-- A customer's commissions, for the settlement's status refresh and the entity workflow's hold timers.
CREATE INDEX commission_entries_customer ON commission_entries (operator_id, customer_id, kind);

-- The notification events a ledger entry caused (commission.accrued, ...): their rows in `events` carry the
-- entry id, so a replayed settlement finds what it emitted and a reversal finds the conversion it undoes.
ALTER TABLE events ADD COLUMN commission_entry_id text;
-- When the commission engine folded the event into its customer's state: a settlement takes every
-- commission event of the customer still null here, so none is skipped and none is folded twice.
ALTER TABLE events ADD COLUMN settled_at timestamptz;
CREATE INDEX events_commission_entry ON events (commission_entry_id) WHERE commission_entry_id IS NOT NULL;

-- Deliveries cancelled because the conversion they carried was undone before it got through: the
-- reversal is not sent to that endpoint either, so the tracker sees neither, never the reversal first.
ALTER TABLE deliveries ADD COLUMN replaced_by_event_id text;
