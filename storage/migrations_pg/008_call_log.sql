-- Key budgets outlive a restart: every call reserved on a budgeted API key, by the key's id (a hash
-- of its value, never the value), kept for the vendor's rolling hour. And how long each finished job
-- took by the vendor's own clock (or the best estimate the polls allow), which estimates learn from.

CREATE TABLE key_calls (
    key_id  TEXT NOT NULL,
    at      DOUBLE PRECISION NOT NULL
);

CREATE INDEX key_calls_by_key ON key_calls (key_id, at);

ALTER TABLE jobs ADD COLUMN generation_seconds DOUBLE PRECISION;
