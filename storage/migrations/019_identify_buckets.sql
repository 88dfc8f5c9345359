-- When each gateway bucket may identify next. Discord lets shards identify in buckets (bucket = shard
-- id % max_concurrency), one identify per bucket every 5 seconds, counted over every connection of
-- the bot, not per process. On PostgreSQL several `run` processes share the database: each identify
-- first reserves its bucket's next free slot here (`storage.identify_slots`), so processes started at
-- once still identify spaced. SQLite has one process, whose discord.py spaces its own shards, and
-- writes nothing here; the table is the same so the SQL is written once.
CREATE TABLE identify_buckets (
    bucket   INTEGER PRIMARY KEY CHECK (bucket >= 0),
    next_at  REAL NOT NULL  -- the next free slot: epoch seconds, the database's clock
);
