-- Accounts (users with a role, API tokens stored as SHA-256 hashes) and the as-run log
-- (播出记录: one row per airing, written when the first frame leaves and completed once when
-- the item ends). Times are integer milliseconds since the Unix epoch (UTC); days are
-- 'YYYY-MM-DD' in Asia/Shanghai.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'partner')),
    unit_id       INTEGER REFERENCES units (id),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    CHECK ((role = 'partner' AND unit_id IS NOT NULL) OR (role <> 'partner' AND unit_id IS NULL))
);

CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    name            TEXT    NOT NULL,
    token_sha256    TEXT    NOT NULL UNIQUE,
    display         TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    revoked         INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

CREATE TABLE asrun (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    airing_key       TEXT    NOT NULL UNIQUE,
    item_id          TEXT    NOT NULL,
    work_id          INTEGER,
    unit_id          INTEGER,
    title            TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    planned_start_ms INTEGER,
    first_frame_ms   INTEGER NOT NULL,
    last_frame_ms    INTEGER,
    frames           INTEGER,
    end_reason       TEXT,
    fallbacks_json   TEXT    NOT NULL DEFAULT '[]',
    rundown_day      TEXT,
    rundown_version  INTEGER,
    air_day          TEXT    NOT NULL,
    recorded_at_ms   INTEGER NOT NULL
);
CREATE INDEX asrun_air_day ON asrun (air_day, first_frame_ms);
CREATE INDEX asrun_work ON asrun (work_id);
CREATE INDEX asrun_unit ON asrun (unit_id);
