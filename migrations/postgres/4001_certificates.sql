-- 活动参与证明: server settings (the certificate secret, created once) and the certificates
-- issued for works that aired. A certificate row never changes; a new airing of the work
-- issues a new one with a new code, and old codes stay valid. Times are integer ms (UTC).

CREATE TABLE settings (
    key            TEXT    PRIMARY KEY,
    value          TEXT    NOT NULL,
    created_at_ms  BIGINT  NOT NULL
);

CREATE TABLE certificates (
    id             BIGSERIAL PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE,
    work_id        BIGINT  NOT NULL,
    payload_json   TEXT    NOT NULL,
    issued_at_ms   BIGINT  NOT NULL
);
CREATE INDEX certificates_work ON certificates (work_id, issued_at_ms);
