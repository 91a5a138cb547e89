-- Customer state proportional to what is open (issue 12). The ledger is append-only, so "pending" is an
-- accrual without an approval or rejection: finding a customer's earliest hold read every accrual the
-- customer ever had. This table holds one row per pending commission, written by the ledger's own
-- inserts (a trigger, so no writer can forget it): an accrual adds its row, its approval or rejection
-- removes it. The earliest hold and the pending count are read from its index, in the customer's open
-- commissions only (src/db/commission-holds.ts).
CREATE TABLE commission_holds (
  -- No foreign key: the ledger refuses TRUNCATE by its own trigger, which a reference would pre-empt.
  commission_id  text PRIMARY KEY,
  operator_id    text NOT NULL,
  customer_id    text NOT NULL,
  hold_until     timestamptz NOT NULL
);
CREATE INDEX commission_holds_customer ON commission_holds (operator_id, customer_id, hold_until, commission_id);

CREATE FUNCTION commission_holds_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind = 'accrual' THEN
    INSERT INTO commission_holds (commission_id, operator_id, customer_id, hold_until)
    VALUES (NEW.id, NEW.operator_id, NEW.customer_id, NEW.hold_until);
  ELSIF NEW.kind IN ('approval', 'rejection') THEN
    DELETE FROM commission_holds WHERE commission_id = NEW.related_entry;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER commission_entries_holds AFTER INSERT ON commission_entries
  FOR EACH ROW EXECUTE FUNCTION commission_holds_follow();

INSERT INTO commission_holds (commission_id, operator_id, customer_id, hold_until)
SELECT a.id, a.operator_id, a.customer_id, a.hold_until
  FROM commission_entries a
 WHERE a.kind = 'accrual'
   AND NOT EXISTS (SELECT 1 FROM commission_entries r
                    WHERE r.related_entry = a.id AND r.kind IN ('approval', 'rejection'));
