-- Video bytes a vendor handed over (not a link), kept in the database until the result is out. On
-- PostgreSQL several processes share the data and a job moves between them by lease: the file the
-- engine saved in its own `videos/` folder is absent on another machine, so delivery there rebuilds
-- it from this row (`bot.videos.local_copy`). Only bytes up to a cap are kept (larger ones stay
-- file-only), and a row goes once its job is delivered (`bot.retention`). SQLite has one process and
-- writes nothing here; the table is the same so the SQL is written once.
CREATE TABLE video_bytes (
    job_id      BIGINT PRIMARY KEY REFERENCES jobs(id),
    data        BYTEA NOT NULL,
    size        BIGINT NOT NULL CHECK (size >= 0),
    created_at  DOUBLE PRECISION NOT NULL
);

-- A video is compressed already: TOAST stores it out of line without trying to compress it again.
ALTER TABLE video_bytes ALTER COLUMN data SET STORAGE EXTERNAL;
