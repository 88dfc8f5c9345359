-- Delivery: what the result needs beyond the job itself.
--   upload_limit: the interaction's attachment_size_limit (bytes) when the job was asked for; the
--                 video is uploaded when it fits, linked otherwise (NULL: assume Discord's 10 MiB).
--   video_path:   where the engine saved the video when the vendor handed over bytes, not a link.

ALTER TABLE jobs ADD COLUMN upload_limit BIGINT CHECK (upload_limit IS NULL OR upload_limit > 0);
ALTER TABLE jobs ADD COLUMN video_path TEXT;
