-- Rundown: stored days with versions (who, when, why) and operator locks, plus the
-- slow-live feeds (慢直播信号) the rundown places. Times are integer milliseconds since the
-- Unix epoch (UTC); dates are 'YYYY-MM-DD' broadcast days in Asia/Shanghai.

CREATE TABLE rundown_days (
    date            TEXT    PRIMARY KEY,
    edition         TEXT    NOT NULL,
    current_version BIGINT  NOT NULL DEFAULT 0 CHECK (current_version >= 0),
    locked          BIGINT  NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    locked_by       TEXT,
    locked_at_ms    BIGINT,
    lock_reason     TEXT,
    updated_at_ms   BIGINT  NOT NULL
);

CREATE TABLE rundown_day_versions (
    date       TEXT    NOT NULL REFERENCES rundown_days (date),
    version    BIGINT  NOT NULL CHECK (version >= 1),
    day_json   TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    at_ms      BIGINT  NOT NULL,
    reason     TEXT    NOT NULL,
    PRIMARY KEY (date, version)
);

CREATE TABLE live_feeds (
    id               BIGSERIAL PRIMARY KEY,
    edition_year     BIGINT  NOT NULL,
    title            TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    unit_id          BIGINT  NOT NULL REFERENCES units (id),
    copyright_holder TEXT,
    window_json      TEXT    NOT NULL,
    created_at_ms    BIGINT  NOT NULL,
    UNIQUE (edition_year, title)
);
