-- The exchange rates a commission was judged with (commission_fx, migration 017) are part of the ledger's
-- record: the commission's amount rests on them, and `409 fx_rate_used` refuses changing a used rate
-- because of them. So they are append-only like the entries themselves (migration 004): an UPDATE,
-- DELETE or TRUNCATE is refused in the database, whoever asks.
CREATE OR REPLACE FUNCTION commission_fx_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'commission_fx is append-only: % refused; the rates a booked commission used stay', TG_OP
    USING ERRCODE = 'raise_exception';
END
$$;
DROP TRIGGER IF EXISTS commission_fx_no_update_delete ON commission_fx;
CREATE TRIGGER commission_fx_no_update_delete BEFORE UPDATE OR DELETE ON commission_fx
  FOR EACH ROW EXECUTE FUNCTION commission_fx_append_only();
DROP TRIGGER IF EXISTS commission_fx_no_truncate ON commission_fx;
CREATE TRIGGER commission_fx_no_truncate BEFORE TRUNCATE ON commission_fx
  FOR EACH STATEMENT EXECUTE FUNCTION commission_fx_append_only();
