-- Catalog: submitting units, works, media files with probe results, leads, reviews, history.
-- Times are integer milliseconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD' in
-- Asia/Shanghai. Booleans are INTEGER 0/1 (portable with the PostgreSQL twin).

CREATE TABLE units (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    supervisor_name TEXT,
    supervisor_type TEXT CHECK (supervisor_type IN ('gangyaoban', 'national_society', 'local_association', 'other')),
    contact_name    TEXT,
    contact_title   TEXT,
    contact_phone   TEXT,
    contact_email   TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

CREATE TABLE works (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id                INTEGER NOT NULL REFERENCES units (id),
    edition_year           INTEGER NOT NULL,
    title                  TEXT    NOT NULL,
    categories             TEXT    NOT NULL,
    declared_duration_ms   INTEGER,
    copyright_holder       TEXT,
    summary                TEXT,
    production_status      TEXT    NOT NULL CHECK (production_status IN ('finished', 'to_be_produced', 'highlights')),
    due_date               TEXT,
    ai_generated           INTEGER NOT NULL DEFAULT 0,
    has_subtitles          INTEGER NOT NULL DEFAULT 0,
    rights_confirmed_by    TEXT,
    rights_confirmed_at_ms INTEGER,
    state                  TEXT    NOT NULL DEFAULT 'submitted',
    late                   INTEGER NOT NULL DEFAULT 0,
    submitted_on           TEXT    NOT NULL,
    content_key            TEXT    NOT NULL,
    created_at_ms          INTEGER NOT NULL,
    updated_at_ms          INTEGER NOT NULL,
    UNIQUE (unit_id, edition_year, title)
);
CREATE INDEX works_state ON works (edition_year, state);

CREATE TABLE media_files (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    work_id        INTEGER NOT NULL REFERENCES works (id),
    location       TEXT    NOT NULL,
    verdict        TEXT CHECK (verdict IN ('pass', 'warn', 'fail')),
    reasons_json   TEXT,
    probe_json     TEXT,
    container      TEXT,
    width          INTEGER,
    height         INTEGER,
    bit_rate_bps   INTEGER,
    size_bytes     INTEGER,
    duration_ms    INTEGER,
    has_audio      INTEGER,
    loudness_lufs  REAL,
    true_peak_dbtp REAL,
    probed_at_ms   INTEGER,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (work_id, location)
);

CREATE TABLE leads (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id       INTEGER NOT NULL REFERENCES units (id),
    edition_year  INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    categories    TEXT    NOT NULL,
    description   TEXT,
    state         TEXT    NOT NULL DEFAULT 'proposed',
    work_id       INTEGER REFERENCES works (id),
    content_key   TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (unit_id, edition_year, name)
);

CREATE TABLE reviews (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    work_id           INTEGER NOT NULL REFERENCES works (id),
    reviewer          TEXT    NOT NULL,
    at_ms             INTEGER NOT NULL,
    technical_verdict TEXT,
    chk_subtitles     INTEGER,
    chk_no_logo       INTEGER,
    chk_no_ads        INTEGER,
    chk_ai_label      INTEGER,
    chk_science       INTEGER,
    decision          TEXT CHECK (decision IN ('selected', 'not_selected')),
    reason            TEXT
);
CREATE INDEX reviews_work ON reviews (work_id);

CREATE TABLE state_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity      TEXT    NOT NULL,
    entity_id   INTEGER NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX state_history_entity ON state_history (entity, entity_id);

CREATE TABLE imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name   TEXT    NOT NULL,
    file_sha256 TEXT    NOT NULL,
    rows_total  INTEGER NOT NULL,
    inserted    INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL
);
