-- Dashboard login sessions: the cookie value is stored only as its SHA-256; each session
-- has its own CSRF token that every change made with the cookie must echo in a header.
-- Times are integer ms since the Unix epoch (UTC).

CREATE TABLE sessions (
    id            BIGSERIAL PRIMARY KEY,
    token_sha256  TEXT    NOT NULL UNIQUE,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    csrf          TEXT    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    revoked       BIGINT  NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX sessions_user ON sessions (user_id);
