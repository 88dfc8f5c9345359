-- Team riffs: a job made from another finished job (Again, Remix or Variation, pressed by any member
-- allowed to generate there) remembers it, so its card names whose video it builds on and links back.
--   riff_of:          the job it was made from
--   riff_owner_id:    that job's member (the card names them without reading the original)
--   riff_channel_id,
--   riff_message_id:  the message the card links to (the one the button was pressed on)
ALTER TABLE jobs ADD COLUMN riff_of BIGINT REFERENCES jobs (id);
ALTER TABLE jobs ADD COLUMN riff_owner_id BIGINT;
ALTER TABLE jobs ADD COLUMN riff_channel_id BIGINT;
ALTER TABLE jobs ADD COLUMN riff_message_id BIGINT;
