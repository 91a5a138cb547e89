-- migrate: no-transaction
-- Exchange rates the operator provides (issue 14, item 1a; src/domain/fx.ts): one rate per operator, pair
-- and UTC date, `1 from = rate to`. A CPA counts a deposit in another currency at its date's rate (or the
-- latest of the look-back days before it). Numeric, never float: a rate has at most 6 integer digits and
-- 8 decimals (src/domain/fx.ts), so any amount the API accepts, converted, fits numeric(28, 8).
CREATE TABLE IF NOT EXISTS fx_rates (
  operator_id    text NOT NULL REFERENCES operators (id),
  from_currency  text NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
  to_currency    text NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$'),
  rate_date      date NOT NULL,
  rate           numeric(28, 8) NOT NULL CHECK (rate > 0),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (from_currency <> to_currency),
  -- Also the look-up: the latest rate of a pair on or before a date is one backward index step.
  PRIMARY KEY (operator_id, from_currency, to_currency, rate_date)
);

-- The rates each ledger entry was judged or computed with, as they were then. Append-only like the
-- ledger. A rate some entry used cannot be changed or removed (409): the entry keeps proving its figure.
CREATE TABLE IF NOT EXISTS commission_fx (
  entry_id       text NOT NULL REFERENCES commission_entries (id),
  operator_id    text NOT NULL,
  from_currency  text NOT NULL,
  to_currency    text NOT NULL,
  rate_date      date NOT NULL,
  rate           numeric(28, 8) NOT NULL,
  PRIMARY KEY (entry_id, from_currency, to_currency, rate_date)
);
CREATE INDEX IF NOT EXISTS commission_fx_used ON commission_fx (operator_id, from_currency, to_currency, rate_date);

-- A settled event whose CPA waits for a rate the operator has not given (`fx_rate_missing`): the pairs it
-- waits for (`EUR/USD`). Such events are folded again by the customer's next settlement, and setting a
-- rate of one of the pairs wakes their customers (src/api/routes/fx-rates.ts). NULL when nothing waits.
ALTER TABLE events ADD COLUMN IF NOT EXISTS fx_missing text[];
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_fx_missing ON events (operator_id, customer_id) WHERE fx_missing IS NOT NULL;
-- Built CONCURRENTLY, outside a transaction: events is a large table and intake writes to it all the time.
