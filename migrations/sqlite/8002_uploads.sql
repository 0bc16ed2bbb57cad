-- Resumable video uploads (tus 1.0, issue 15). One row per upload: the bytes go to `path`
-- and `offset_bytes` is written after every chunk, so an upload resumes where it stopped,
-- also after the daemon restarts. Times are integer ms since the Unix epoch (UTC).
CREATE TABLE uploads (
    id              TEXT    PRIMARY KEY,
    -- The unit whose quota it counts against (the work's unit).
    unit_id         INTEGER  NOT NULL,
    work_id         INTEGER  NOT NULL,
    file_name       TEXT    NOT NULL,
    length          INTEGER  NOT NULL,
    offset_bytes    INTEGER  NOT NULL DEFAULT 0,
    path            TEXT    NOT NULL,
    -- Hex SHA-256 of the whole file, once complete.
    sha256          TEXT,
    -- The media file attached to the work when complete.
    file_id         INTEGER,
    created_by      TEXT    NOT NULL,
    created_at_ms   INTEGER  NOT NULL,
    completed_at_ms INTEGER
);
CREATE INDEX uploads_unit ON uploads (unit_id);
