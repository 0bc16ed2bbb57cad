-- Production pair (see the PostgreSQL migration of the same number). SQLite serves one node,
-- so `airing_key` stays unique on its own; the node is recorded all the same.
-- Times are integer milliseconds since the Unix epoch (UTC).

ALTER TABLE asrun ADD COLUMN node TEXT NOT NULL DEFAULT '';

CREATE TABLE node_leases (
    job           TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    epoch         INTEGER NOT NULL CHECK (epoch > 0),
    expires_at_ms INTEGER NOT NULL
);

CREATE TABLE login_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    username  TEXT    NOT NULL,
    client    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused', 'locked', 'limited')),
    node      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX login_audit_user ON login_audit (username, at_ms);

ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until_ms INTEGER NOT NULL DEFAULT 0;
