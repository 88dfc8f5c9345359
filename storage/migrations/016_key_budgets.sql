-- Key budgets shared by every process on the database: one row per budgeted API key (by its id, a
-- hash of its value, never the value), holding the per-hour limit it was last reserved under. The
-- row is what a reservation locks before it counts the key's calls of the last hour (`key_calls`)
-- and adds its own, so two processes can never both take the last call of an hour. On SQLite the
-- single writer serializes reservations already; the table is the same so the SQL is written once.
CREATE TABLE key_budgets (
    key_id   TEXT PRIMARY KEY,
    per_hour INTEGER NOT NULL CHECK (per_hour >= 0)
);

-- key_calls (key_id, at) is indexed since 008 (key_calls_by_key): a reservation's count is a range
-- scan of one key's last hour.
CREATE INDEX IF NOT EXISTS key_calls_by_key ON key_calls (key_id, at);

-- The polls each process keeps reserved on a key for its running jobs (`held`), written with each
-- call it books. A call paid from free room fits only below the limit less every live process's
-- holds, so one process's spare looks never take the room another's jobs were promised. A process
-- whose lease lapsed (`engine_processes`) holds nothing: its jobs, taken over, are held by their new
-- owner.
CREATE TABLE key_holds (
    key_id TEXT NOT NULL,
    owner  TEXT NOT NULL,
    held   INTEGER NOT NULL CHECK (held >= 0),
    PRIMARY KEY (key_id, owner)
);
