-- 数据反馈 (feedback): relay channels (a unit's accounts that carry the broadcast; a NULL
-- unit is the organiser's own, e.g. our public HLS), raw figure events (kept for ever, one
-- per channel, instant and kind: a replay changes nothing) and per-minute buckets for
-- charts, recomputed from the raw events of the minutes a write touched.
-- Times are integer milliseconds since the Unix epoch (UTC). Booleans are INTEGER 0/1.

CREATE TABLE feedback_channels (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id       INTEGER REFERENCES units (id),
    platform      TEXT    NOT NULL,
    account_name  TEXT    NOT NULL,
    room_url      TEXT,
    token_sha256  TEXT    NOT NULL UNIQUE,
    token_display TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX feedback_channels_unit ON feedback_channels (unit_id);

CREATE TABLE feedback_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id     INTEGER NOT NULL REFERENCES feedback_channels (id),
    at_ms          INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    value          INTEGER NOT NULL CHECK (value >= 0),
    cumulative     INTEGER NOT NULL CHECK (cumulative IN (0, 1)),
    source         TEXT    NOT NULL CHECK (source IN ('api', 'webhook', 'upload', 'manual', 'poller', 'hls')),
    as_of_ms       INTEGER,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (channel_id, at_ms, kind)
);
CREATE INDEX feedback_events_at ON feedback_events (at_ms);

CREATE TABLE feedback_minutes (
    channel_id INTEGER NOT NULL REFERENCES feedback_channels (id),
    kind       TEXT    NOT NULL,
    minute_ms  INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    value_sum  INTEGER NOT NULL,
    value_max  INTEGER NOT NULL,
    value_last INTEGER NOT NULL,
    last_at_ms INTEGER NOT NULL,
    cumulative INTEGER NOT NULL,
    PRIMARY KEY (channel_id, kind, minute_ms)
);
CREATE INDEX feedback_minutes_minute ON feedback_minutes (minute_ms);
