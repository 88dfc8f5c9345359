-- Models a vendor said it no longer serves, the notices managers were sent about them (once per
-- server, model and day), and each server's fallback profiles per kind with its admin channel.

CREATE TABLE model_outages (
    profile     TEXT NOT NULL,
    model       TEXT NOT NULL,
    since       DOUBLE PRECISION NOT NULL,
    code        TEXT NOT NULL,
    PRIMARY KEY (profile, model)
);

CREATE TABLE model_notices (
    guild_id    BIGINT NOT NULL,
    profile     TEXT NOT NULL,
    model       TEXT NOT NULL,
    day         TEXT NOT NULL,  -- UTC date, YYYY-MM-DD
    PRIMARY KEY (guild_id, profile, model, day)
);

ALTER TABLE guild_settings ADD COLUMN fallbacks TEXT NOT NULL DEFAULT '{}';  -- JSON kind -> [profile]
ALTER TABLE guild_settings ADD COLUMN admin_channel_id BIGINT;
