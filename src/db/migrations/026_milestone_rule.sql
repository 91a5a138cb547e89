-- migrate: no-transaction
-- Challenge deals pay milestones (a phase passed, a funded account) under their own rule, `milestone`,
-- beside the purchase's `challenge`: the ledger's list of rules grows by it. The new list holds every
-- existing row, so the constraint is added NOT VALID (a brief exclusive lock, no scan) and validated by a
-- separate statement whose lock lets bookings go on. Each statement is safe to run again.
ALTER TABLE commission_entries DROP CONSTRAINT IF EXISTS commission_entries_rule_check;
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_rule_check CHECK (rule IN ('cpa', 'revshare', 'lot', 'challenge', 'milestone')) NOT VALID;
ALTER TABLE commission_entries VALIDATE CONSTRAINT commission_entries_rule_check;
