-- When the engine was last known to be running (its heartbeat, on the engine's clock), so the next
-- start knows how long the bot was down and a job's deadline counts only the time it was up.

CREATE TABLE engine_alive (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    alive_at  DOUBLE PRECISION NOT NULL
);
