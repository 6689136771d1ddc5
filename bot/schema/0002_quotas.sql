-- Quota ledger (bot/quotas.py). Money is integer micro-dollars (1 USD =
-- 1_000_000) so sums are exact. Periods are UTC: a day is 'YYYY-MM-DD', a month
-- 'YYYY-MM'.

-- Per-workspace limits set by an admin; NULL = the configured default, 0 = unlimited.
CREATE TABLE quota_overrides (
    workspace           TEXT PRIMARY KEY,
    daily_images        INTEGER CHECK (daily_images >= 0),
    monthly_budget_musd INTEGER CHECK (monthly_budget_musd >= 0),
    updated_at          REAL NOT NULL
);

-- One counter per workspace and period: 'images' per day, 'musd' per month.
-- A reservation adds to reserved; settle moves it to spent, release drops it.
CREATE TABLE quota_usage (
    workspace   TEXT NOT NULL,
    counter     TEXT NOT NULL CHECK (counter IN ('images', 'musd')),
    period      TEXT NOT NULL,
    spent       INTEGER NOT NULL DEFAULT 0 CHECK (spent >= 0),
    reserved    INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (workspace, counter, period)
);

-- One row per reserve(); state moves reserved → settled | released, once.
CREATE TABLE quota_reservations (
    id              INTEGER PRIMARY KEY,
    workspace       TEXT NOT NULL,
    user            TEXT NOT NULL,
    job_id          TEXT,
    day             TEXT NOT NULL,
    month           TEXT NOT NULL,
    estimate_musd   INTEGER NOT NULL CHECK (estimate_musd >= 0),
    cost_musd       INTEGER CHECK (cost_musd >= 0),
    model           TEXT,
    state           TEXT NOT NULL DEFAULT 'reserved'
                    CHECK (state IN ('reserved', 'settled', 'released')),
    created_at      REAL NOT NULL,
    closed_at       REAL
);

CREATE INDEX quota_reservations_month ON quota_reservations (workspace, month, state);
CREATE INDEX quota_reservations_open ON quota_reservations (state, created_at);
CREATE INDEX quota_reservations_job ON quota_reservations (job_id);
