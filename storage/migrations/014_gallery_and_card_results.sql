-- Videos that always land, a gallery, fewer public messages.
--
-- posts: the outbox for a job's messages other than its result (`deliveries`), one row per (job,
-- kind), claimed before it is sent and marked after, exactly as a result is. The one kind so far is
-- `gallery`: the finished video posted again in the server's gallery channel (in a forum: a thread).
--   channel_id: where it goes, fixed when the row is made (a later /settings gallery moves new posts
--               only, never one half sent)
--   state:      pending, claimed (an attempt went out unanswered: it may exist), sent, or dropped
--               (the channel is gone or closed to the bot: nothing is left to try)
--   message_id: the message posted (in a forum, the thread, whose id is its first message's)
CREATE TABLE posts (
    job_id      INTEGER NOT NULL REFERENCES jobs (id),
    kind        TEXT NOT NULL CHECK (kind IN ('gallery')),
    channel_id  INTEGER NOT NULL,
    nonce       TEXT NOT NULL UNIQUE CHECK (length(nonce) BETWEEN 1 AND 25),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'sent', 'dropped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_at  REAL,
    sent_at     REAL,
    message_id  INTEGER,
    last_error  TEXT,
    created_at  REAL NOT NULL,
    PRIMARY KEY (job_id, kind)
);

CREATE INDEX posts_unsent ON posts (state) WHERE state IN ('pending', 'claimed');

-- gallery_channel_id: where every finished video is also posted (NULL: no gallery).
-- result_in_card:     1 = the job's card becomes its result (the ping is a short reply); 0 = the
--                     result is a message of its own.
ALTER TABLE guild_settings ADD COLUMN gallery_channel_id INTEGER;
ALTER TABLE guild_settings ADD COLUMN result_in_card INTEGER NOT NULL DEFAULT 0 CHECK (result_in_card IN (0, 1));
