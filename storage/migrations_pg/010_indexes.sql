-- Indexes for every query a command, the caps, the metrics and the start-up run, so none of them scans
-- `jobs` or `ledger_entries` (tests/unit/test_query_plans.py checks each plan against the real SQL).
--
-- A partial index is used only when the query's WHERE names its condition exactly as written here, so
-- the active-state list is spelled as storage.states.sql_set(ACTIVE) spells it: sorted. `jobs_active`
-- (001) spelled it in another order and was never used: it goes.

DROP INDEX IF EXISTS jobs_active;

-- Jobs by state: the metrics' count per state, the active jobs at start and doctor's count.
CREATE INDEX jobs_by_state ON jobs (state);

-- /jobs list: a server's newest jobs, and one member's.
CREATE INDEX jobs_by_guild ON jobs (guild_id, id);
CREATE INDEX jobs_by_member_id ON jobs (guild_id, user_id, id);

-- The caps (jobs in progress per member and per server) and the credits a member's jobs still hold.
CREATE INDEX jobs_active_by_member ON jobs (guild_id, user_id)
    WHERE state IN ('queued', 'running', 'submitting');

-- Finished jobs whose result was never shown, re-announced at start.
CREATE INDEX jobs_undelivered ON jobs (id) WHERE delivered_at IS NULL AND message_id IS NOT NULL;

-- A member's entries newest first, now carrying the amount: their count, a history page and doctor's
-- sum of every balance read the index alone, never the table.
DROP INDEX IF EXISTS ledger_by_member;
CREATE INDEX ledger_by_member ON ledger_entries (guild_id, user_id, id, amount);
