-- Leases: which process drives a job. A process registers itself (`engine_processes`) and renews its
-- row while it lives; a job names the process that holds it (`lease_owner`) and the lease's epoch,
-- raised each time another process takes the job over. Every write of a driven job names the epoch it
-- read, so a process that lost the job writes nothing (fencing). A job whose owner is not a live row
-- (lapsed, or gone) is free to take over.

CREATE TABLE engine_processes (
    owner       TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    started_at  REAL NOT NULL,
    until       REAL NOT NULL
);

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;

-- The jobs a takeover looks at: unfinished, or finished with a result never shown.
CREATE INDEX jobs_leased ON jobs (lease_owner, id) WHERE delivered_at IS NULL;
