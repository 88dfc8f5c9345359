-- How many jobs each live process drives, written with its lease renewal: a process queueing a new job
-- hands it to the least loaded one, so workers share new work rather than only taking over the dead's.
-- A job handed to a process that has not started driving it yet has lease epoch -1.

ALTER TABLE engine_processes ADD COLUMN load INTEGER NOT NULL DEFAULT 0;
