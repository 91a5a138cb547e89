-- Affiliates and their deals (contract section 6). The deal is stored as the API received it; commissions
-- keep the terms they were accrued under (hold_until, clawback_until), so replacing a deal never alters them.
CREATE TABLE affiliates (
  operator_id   text NOT NULL REFERENCES operators (id),
  affiliate_id  text NOT NULL,
  name          text NOT NULL,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  deal          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, affiliate_id)
);

-- The commission ledger: append-only. A commission is an accrual entry plus at most one approval or
-- rejection (related_entry names the accrual) plus, after an approval, at most one reversal (reversal_of
-- names it, with the negated amount). A review entry flags a commission for a person (an approved one past
-- its clawback window, say); it moves no money. Nothing is ever updated or deleted: the triggers below refuse it.
--
-- Balances are sums over entries, each kind moving amount between buckets:
--   accrual   pending +amount
--   approval  pending -amount, approved +amount
--   rejection pending -amount
--   reversal  reversed +amount (amount is negative)
--   review    nothing (amount is zero)
CREATE TABLE commission_entries (
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id               text PRIMARY KEY,
  operator_id      text NOT NULL,
  affiliate_id     text NOT NULL,
  customer_id      text NOT NULL,
  -- The event that caused the entry; null for approvals and for decisions made by hand.
  event_id         text,
  rule             text NOT NULL CHECK (rule IN ('cpa', 'revshare', 'lot', 'challenge')),
  model            text NOT NULL CHECK (model IN ('cpa', 'revshare', 'hybrid', 'lot', 'challenge')),
  kind             text NOT NULL CHECK (kind IN ('accrual', 'approval', 'rejection', 'reversal', 'review')),
  amount           numeric(28, 8) NOT NULL,
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The commission's status this entry brought about; a review records the status it found.
  status           text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'reversed')),
  -- Business time: the accrual's event time, the moment of approval, the compensating event's time.
  occurred_at      timestamptz NOT NULL,
  hold_until       timestamptz,
  clawback_until   timestamptz,
  reversal_of      text REFERENCES commission_entries (id),
  related_entry    text REFERENCES commission_entries (id),
  reason           text,
  idempotency_key  text NOT NULL,
  -- clock_timestamp, not now(): entries of one transaction keep their order.
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (operator_id, idempotency_key),
  FOREIGN KEY (operator_id, affiliate_id) REFERENCES affiliates (operator_id, affiliate_id),
  FOREIGN KEY (operator_id, event_id) REFERENCES events (operator_id, event_id),
  CONSTRAINT commission_entry_shape CHECK (
    CASE kind
      WHEN 'accrual' THEN amount > 0 AND status = 'pending' AND event_id IS NOT NULL
                          AND hold_until IS NOT NULL AND clawback_until IS NOT NULL
                          AND reversal_of IS NULL AND related_entry IS NULL
      WHEN 'approval' THEN amount > 0 AND status = 'approved' AND related_entry IS NOT NULL AND reversal_of IS NULL
      WHEN 'rejection' THEN amount > 0 AND status = 'rejected' AND related_entry IS NOT NULL
                            AND reversal_of IS NULL AND reason IS NOT NULL
      WHEN 'reversal' THEN amount < 0 AND status = 'reversed' AND reversal_of IS NOT NULL
                           AND related_entry IS NULL AND reason IS NOT NULL
      WHEN 'review' THEN amount = 0 AND status IN ('pending', 'approved') AND related_entry IS NOT NULL
                         AND reversal_of IS NULL AND reason IS NOT NULL
    END
  )
);
-- At most one accrual per cause and rule, one approval-or-rejection and one reversal per accrual.
CREATE UNIQUE INDEX commission_entries_one_accrual ON commission_entries (operator_id, event_id, rule)
  WHERE kind = 'accrual';
CREATE UNIQUE INDEX commission_entries_one_resolution ON commission_entries (related_entry)
  WHERE kind IN ('approval', 'rejection');
CREATE UNIQUE INDEX commission_entries_one_reversal ON commission_entries (reversal_of)
  WHERE kind = 'reversal';
CREATE INDEX commission_entries_reviews ON commission_entries (related_entry) WHERE kind = 'review';
CREATE INDEX commission_entries_affiliate ON commission_entries (operator_id, affiliate_id, created_at DESC, id DESC);
CREATE INDEX commission_entries_event ON commission_entries (operator_id, event_id);

CREATE FUNCTION commission_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'commission_entries is append-only: % refused; book a new entry instead', TG_OP
    USING ERRCODE = 'raise_exception';
END
$$;
CREATE TRIGGER commission_entries_no_update_delete BEFORE UPDATE OR DELETE ON commission_entries
  FOR EACH ROW EXECUTE FUNCTION commission_entries_append_only();
CREATE TRIGGER commission_entries_no_truncate BEFORE TRUNCATE ON commission_entries
  FOR EACH STATEMENT EXECUTE FUNCTION commission_entries_append_only();

-- The last guard of the state machine: an entry that resolves, reverses or flags a commission must match
-- its accrual (same tenant, affiliate, customer, rule, model, currency and amount), and only an approved
-- commission can be reversed. Repository code checks all this first, under a row lock.
CREATE FUNCTION commission_entries_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  a commission_entries;
BEGIN
  IF NEW.kind = 'accrual' THEN
    RETURN NEW;
  END IF;
  SELECT * INTO a FROM commission_entries WHERE id = COALESCE(NEW.related_entry, NEW.reversal_of);
  IF a.id IS NULL OR a.kind <> 'accrual' THEN
    RAISE EXCEPTION 'a % entry must name an accrual', NEW.kind USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF (a.operator_id, a.affiliate_id, a.customer_id, a.rule, a.model, a.currency)
     IS DISTINCT FROM (NEW.operator_id, NEW.affiliate_id, NEW.customer_id, NEW.rule, NEW.model, NEW.currency) THEN
    RAISE EXCEPTION 'a % entry must match its accrual %', NEW.kind, a.id USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW.kind IN ('approval', 'rejection') AND NEW.amount <> a.amount)
     OR (NEW.kind = 'reversal' AND NEW.amount <> -a.amount) THEN
    RAISE EXCEPTION 'a % entry must carry the amount of accrual %', NEW.kind, a.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.kind = 'reversal' AND NOT EXISTS (
       SELECT 1 FROM commission_entries WHERE related_entry = a.id AND kind = 'approval') THEN
    RAISE EXCEPTION 'accrual % is not approved: it cannot take a %', a.id, NEW.kind USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER commission_entries_link BEFORE INSERT ON commission_entries
  FOR EACH ROW EXECUTE FUNCTION commission_entries_check_link();

-- Commissions as the API shows them: each accrual with its current status (and the reason and time that
-- gave it), and each reversal as an entry of its own.
CREATE VIEW commissions AS
SELECT a.id, a.operator_id, a.affiliate_id, a.customer_id, a.event_id, a.rule, a.model, a.amount, a.currency,
       CASE WHEN v.id IS NOT NULL THEN 'reversed'
            WHEN r.kind = 'rejection' THEN 'rejected'
            WHEN r.kind = 'approval' THEN 'approved'
            ELSE 'pending' END AS status,
       a.hold_until, a.clawback_until, NULL::text AS reversal_of,
       COALESCE(v.reason, CASE WHEN r.kind = 'rejection' THEN r.reason END) AS reason,
       a.idempotency_key, a.occurred_at, r.occurred_at AS resolved_at, v.occurred_at AS reversed_at,
       (SELECT count(*)::int FROM commission_entries w WHERE w.related_entry = a.id AND w.kind = 'review') AS reviews,
       a.created_at
  FROM commission_entries a
  LEFT JOIN commission_entries r ON r.related_entry = a.id AND r.kind IN ('approval', 'rejection')
  LEFT JOIN commission_entries v ON v.reversal_of = a.id AND v.kind = 'reversal'
 WHERE a.kind = 'accrual'
UNION ALL
SELECT v.id, v.operator_id, v.affiliate_id, v.customer_id, v.event_id, v.rule, v.model, v.amount, v.currency,
       'reversed', NULL, NULL, v.reversal_of, v.reason, v.idempotency_key, v.occurred_at, NULL, NULL, 0, v.created_at
  FROM commission_entries v
 WHERE v.kind = 'reversal';
