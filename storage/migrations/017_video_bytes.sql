-- Video bytes a vendor handed over (not a link), kept in the database until the result is out. On
-- PostgreSQL several processes share the data and a job moves between them by lease: the file the
-- engine saved in its own `videos/` folder is absent on another machine, so delivery there rebuilds
-- it from this row (`bot.videos.local_copy`). Only bytes up to a cap are kept (larger ones stay
-- file-only), and a row goes once its job is delivered (`bot.retention`). SQLite has one process and
-- writes nothing here; the table is the same so the SQL is written once.
CREATE TABLE video_bytes (
    job_id      INTEGER PRIMARY KEY REFERENCES jobs(id),
    data        BLOB NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    created_at  REAL NOT NULL
);
