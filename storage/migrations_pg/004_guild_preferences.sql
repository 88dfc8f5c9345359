-- Per-server preferences set with /settings: the default provider and model, and who may generate where.

ALTER TABLE guild_settings ADD COLUMN default_profile TEXT;
ALTER TABLE guild_settings ADD COLUMN default_model TEXT;
ALTER TABLE guild_settings ADD COLUMN allowed_channels TEXT NOT NULL DEFAULT '[]';  -- JSON ids; [] = anywhere
ALTER TABLE guild_settings ADD COLUMN allowed_roles TEXT NOT NULL DEFAULT '[]';     -- JSON ids; [] = everyone
