-- Costs up front: the price above which a job asks its member to confirm first, and the grants a
-- member has not been told about yet.
--   confirm_above: NULL = the bot's default (CONFIRM_ABOVE, 50 credits); 0 = never ask.
ALTER TABLE guild_settings ADD COLUMN confirm_above INTEGER CHECK (confirm_above IS NULL OR confirm_above >= 0);

-- A manager's grant the member has not seen: written with the grant, shown (and deleted) with the
-- member's next command. The index serves the one read every command makes.
CREATE TABLE grant_notices (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    actor_id    INTEGER,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    reason      TEXT NOT NULL,
    created_at  REAL NOT NULL
);

CREATE INDEX grant_notices_by_member ON grant_notices (guild_id, user_id, id);
