-- The model's name as members read it ("Veo 3.1"), kept with the job: the card and the result name the
-- model that made the video even after the operator's configuration has moved on.

ALTER TABLE jobs ADD COLUMN model_label TEXT;
