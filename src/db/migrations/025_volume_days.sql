-- Daily trading volume (trading.volume_daily) under a lot deal with lotSource daily_volume: one figure per
-- (customer, account, day), the last one sent. A correction sent under a new event id replaces the figure
-- and books only what it comes to above what the day was already paid (`paid`, the highest amount the day
-- came to, in `currency`), so a day is never paid twice (src/domain/commission/volume-day.ts).
CREATE TABLE volume_days (
  operator_id   text NOT NULL,
  customer_id   text NOT NULL,
  account_id    text NOT NULL,
  day           date NOT NULL,
  lots          jsonb NOT NULL,
  paid          numeric(28, 8) NOT NULL CHECK (paid >= 0),
  currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  event_id      text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, customer_id, account_id, day)
);
