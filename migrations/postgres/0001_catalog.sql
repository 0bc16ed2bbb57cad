-- Catalog: submitting units, works, media files with probe results, leads, reviews, history.
-- Times are integer milliseconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD' in
-- Asia/Shanghai. Booleans are BIGINT 0/1 (portable with the PostgreSQL twin).

CREATE TABLE units (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    supervisor_name TEXT,
    supervisor_type TEXT CHECK (supervisor_type IN ('gangyaoban', 'national_society', 'local_association', 'other')),
    contact_name    TEXT,
    contact_title   TEXT,
    contact_phone   TEXT,
    contact_email   TEXT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);

CREATE TABLE works (
    id                     BIGSERIAL PRIMARY KEY,
    unit_id                BIGINT NOT NULL REFERENCES units (id),
    edition_year           BIGINT NOT NULL,
    title                  TEXT    NOT NULL,
    categories             TEXT    NOT NULL,
    declared_duration_ms   BIGINT,
    copyright_holder       TEXT,
    summary                TEXT,
    production_status      TEXT    NOT NULL CHECK (production_status IN ('finished', 'to_be_produced', 'highlights')),
    due_date               TEXT,
    ai_generated           BIGINT NOT NULL DEFAULT 0,
    has_subtitles          BIGINT NOT NULL DEFAULT 0,
    rights_confirmed_by    TEXT,
    rights_confirmed_at_ms BIGINT,
    state                  TEXT    NOT NULL DEFAULT 'submitted',
    late                   BIGINT NOT NULL DEFAULT 0,
    submitted_on           TEXT    NOT NULL,
    content_key            TEXT    NOT NULL,
    created_at_ms          BIGINT NOT NULL,
    updated_at_ms          BIGINT NOT NULL,
    UNIQUE (unit_id, edition_year, title)
);
CREATE INDEX works_state ON works (edition_year, state);

CREATE TABLE media_files (
    id             BIGSERIAL PRIMARY KEY,
    work_id        BIGINT NOT NULL REFERENCES works (id),
    location       TEXT    NOT NULL,
    verdict        TEXT CHECK (verdict IN ('pass', 'warn', 'fail')),
    reasons_json   TEXT,
    probe_json     TEXT,
    container      TEXT,
    width          BIGINT,
    height         BIGINT,
    bit_rate_bps   BIGINT,
    size_bytes     BIGINT,
    duration_ms    BIGINT,
    has_audio      BIGINT,
    loudness_lufs  DOUBLE PRECISION,
    true_peak_dbtp DOUBLE PRECISION,
    probed_at_ms   BIGINT,
    created_at_ms  BIGINT NOT NULL,
    UNIQUE (work_id, location)
);

CREATE TABLE leads (
    id            BIGSERIAL PRIMARY KEY,
    unit_id       BIGINT NOT NULL REFERENCES units (id),
    edition_year  BIGINT NOT NULL,
    name          TEXT    NOT NULL,
    categories    TEXT    NOT NULL,
    description   TEXT,
    state         TEXT    NOT NULL DEFAULT 'proposed',
    work_id       BIGINT REFERENCES works (id),
    content_key   TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (unit_id, edition_year, name)
);

CREATE TABLE reviews (
    id                BIGSERIAL PRIMARY KEY,
    work_id           BIGINT NOT NULL REFERENCES works (id),
    reviewer          TEXT    NOT NULL,
    at_ms             BIGINT NOT NULL,
    technical_verdict TEXT,
    chk_subtitles     BIGINT,
    chk_no_logo       BIGINT,
    chk_no_ads        BIGINT,
    chk_ai_label      BIGINT,
    chk_science       BIGINT,
    decision          TEXT CHECK (decision IN ('selected', 'not_selected')),
    reason            TEXT
);
CREATE INDEX reviews_work ON reviews (work_id);

CREATE TABLE state_history (
    id          BIGSERIAL PRIMARY KEY,
    entity      TEXT    NOT NULL,
    entity_id   BIGINT NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX state_history_entity ON state_history (entity, entity_id);

CREATE TABLE imports (
    id          BIGSERIAL PRIMARY KEY,
    file_name   TEXT    NOT NULL,
    file_sha256 TEXT    NOT NULL,
    rows_total  BIGINT NOT NULL,
    inserted    BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    failed      BIGINT NOT NULL,
    at_ms       BIGINT NOT NULL
);
