-- The delivery outbox: one row per job result to post, kept apart from the job's card, so a card edit
-- that fails never keeps the result from going out, and a crash never posts it twice.
--   nonce:      sent as Discord's `nonce` with `enforce_nonce` (a string of at most 25 characters);
--               the same on every attempt, so Discord answers a repeat with the message it made.
--   state:      pending (not sent; nothing of it is in Discord), claimed (an attempt went out and its
--               answer was never seen: the message may exist), sent (message_id is the result).
--   claimed_at: when the last attempt went out; past Discord's nonce window, a claimed row is first
--               looked up in the channel before it is sent again.
CREATE TABLE deliveries (
    job_id      BIGINT PRIMARY KEY REFERENCES jobs (id),
    nonce       TEXT NOT NULL UNIQUE CHECK (length(nonce) BETWEEN 1 AND 25),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'sent')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    claimed_at  DOUBLE PRECISION,
    sent_at     DOUBLE PRECISION,
    message_id  BIGINT,
    last_error  TEXT,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE INDEX deliveries_unsent ON deliveries (state) WHERE state != 'sent';

-- A confirmation pressed twice makes one job: a job made by confirming something (Again's question)
-- carries the confirmation's key, which is unique.
ALTER TABLE jobs ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX jobs_once ON jobs (once_key) WHERE once_key IS NOT NULL;
