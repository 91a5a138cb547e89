-- A settlement due for a customer (issue 12, volume): one row while the customer's settlement workflow has
-- been told to settle and has not yet begun the step that will. Applying a commission event upserts it in
-- the event's own transaction; only the event that creates the row signals the workflow, so a trader's
-- burst of trades costs one signal per settlement step, not one per trade. The step deletes the row
-- (its own statement) before it reads the unsettled events: an event applied before the delete is read
-- by that step (the upsert locks the row, so the delete waits for the event's commit); an event applied
-- after it creates a new row and signals. A row older than a minute is taken as lost (a workflow ended
-- by hand) and signals again.
CREATE TABLE customer_wakes (
  operator_id   text NOT NULL,
  customer_id   text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, customer_id)
);
