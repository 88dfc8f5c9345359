-- A finished video the vendor left in parts: a multi-shot job whose answer carries every shot's link
-- but no joined video. The links, in the order the shots play, as a JSON array of text (NULL for a
-- job with one video). Kept with the job, as video_url is, so a result posted after a restart (or by
-- another process) joins the same parts, or lists them.

ALTER TABLE jobs ADD COLUMN video_parts TEXT;
