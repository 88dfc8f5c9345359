-- A job's failure as a catalog key and its parameters (JSON: {"key": ..., "params": {...}}), so it is
-- shown in the requester's language whenever it is shown; error_message keeps the en-US words for logs.

ALTER TABLE jobs ADD COLUMN error_i18n TEXT;
