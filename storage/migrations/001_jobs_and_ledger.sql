-- Jobs: everything needed to resume a job after a restart, and the ledger that pays for them.

CREATE TABLE jobs (
    id                      INTEGER PRIMARY KEY,
    guild_id                INTEGER NOT NULL,
    channel_id              INTEGER NOT NULL,
    user_id                 INTEGER NOT NULL,
    application_id          INTEGER,
    interaction_token       TEXT,
    interaction_expires_at  REAL,
    message_id              INTEGER,
    locale                  TEXT,
    profile                 TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    model                   TEXT NOT NULL,
    duration                INTEGER NOT NULL,
    request_json            TEXT NOT NULL,
    cost                    INTEGER NOT NULL CHECK (cost >= 0),
    state                   TEXT NOT NULL CHECK (state IN
                                ('queued', 'submitting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled')),
    key_name                TEXT,
    remote_id               TEXT,
    remote_json             TEXT,
    stage                   TEXT,
    progress_pct            INTEGER,
    step                    INTEGER,
    step_count              INTEGER,
    step_name               TEXT,
    storyboard_prompt       TEXT,
    storyboard_image_url    TEXT,
    video_url               TEXT,
    error_code              TEXT,
    error_message           TEXT,
    polls                   INTEGER NOT NULL DEFAULT 0,
    delivered_at            REAL,
    created_at              REAL NOT NULL,
    submitted_at            REAL,
    finished_at             REAL,
    deadline_at             REAL,
    updated_at              REAL NOT NULL
);

CREATE INDEX jobs_active ON jobs (state) WHERE state IN ('queued', 'submitting', 'running');
CREATE INDEX jobs_by_member ON jobs (guild_id, user_id, created_at);

CREATE TABLE balances (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    balance     INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    PRIMARY KEY (guild_id, user_id)
);

-- Append-only. `amount` is the signed effect on the spendable balance: a hold takes the cost,
-- a capture spends what was held (0), a release gives it back. Balance = sum(amount), always.
CREATE TABLE ledger_entries (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'capture', 'release', 'adjust')),
    amount      INTEGER NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    actor_id    INTEGER,
    reason      TEXT,
    created_at  REAL NOT NULL
);

CREATE INDEX ledger_by_member ON ledger_entries (guild_id, user_id, id);
-- A replayed hold, capture or release of one job is a no-op ...
CREATE UNIQUE INDEX ledger_once_per_job ON ledger_entries (job_id, kind) WHERE job_id IS NOT NULL;
-- ... and a job is settled once: captured or released, never both.
CREATE UNIQUE INDEX ledger_settled_once ON ledger_entries (job_id)
    WHERE job_id IS NOT NULL AND kind IN ('capture', 'release');
