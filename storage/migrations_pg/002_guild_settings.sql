-- Per-server settings for credits: price overrides, a periodic allowance and caps.

CREATE TABLE guild_settings (
    guild_id                    BIGINT PRIMARY KEY,
    price_multiplier            DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (price_multiplier > 0),
    prices_json                 TEXT NOT NULL DEFAULT '{}',   -- "profile:model:duration" -> credits
    allowance_amount            BIGINT CHECK (allowance_amount IS NULL OR allowance_amount > 0),
    allowance_period            TEXT CHECK (allowance_period IS NULL OR allowance_period IN ('week', 'month')),
    max_active_per_member       BIGINT CHECK (max_active_per_member IS NULL OR max_active_per_member > 0),
    max_active_per_server       BIGINT CHECK (max_active_per_server IS NULL OR max_active_per_server > 0),
    max_daily_spend_per_member  BIGINT CHECK (max_daily_spend_per_member IS NULL OR max_daily_spend_per_member > 0),
    updated_at                  DOUBLE PRECISION NOT NULL
);

-- One row per member and allowance period: the primary key makes the periodic grant exactly-once.
CREATE TABLE allowance_grants (
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    period      TEXT NOT NULL,
    granted_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, user_id, period)
);

CREATE INDEX ledger_by_guild_time ON ledger_entries (guild_id, created_at);
