-- Production pair: a main and a backup node on one PostgreSQL.
-- * Every as-run row carries the node that aired it; the same airing on both nodes is two
--   rows (one per node), unique per node — certificates count it once (asrun::once_per_airing).
-- * Once-only jobs (certificates, pollers, reminders) run on the node holding a lease: an
--   advisory lock plus this row, whose epoch grows with every change of holder.
-- * A saved rundown day is announced on channel `kepu_rundown` (payload: the date), so the
--   other node re-reads it within a second.
-- * Login hardening: every login attempt is audited; repeated failures lock the account.
-- Times are integer milliseconds since the Unix epoch (UTC).

ALTER TABLE asrun ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE asrun DROP CONSTRAINT asrun_airing_key_key;
CREATE UNIQUE INDEX asrun_node_airing ON asrun (node, airing_key);

CREATE TABLE node_leases (
    job           TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    epoch         BIGINT  NOT NULL CHECK (epoch > 0),
    expires_at_ms BIGINT  NOT NULL
);

CREATE FUNCTION kepu_notify_rundown() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('kepu_rundown', NEW.date);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER rundown_days_notify AFTER INSERT OR UPDATE ON rundown_days
    FOR EACH ROW EXECUTE FUNCTION kepu_notify_rundown();

CREATE TABLE login_audit (
    id        BIGSERIAL PRIMARY KEY,
    at_ms     BIGINT  NOT NULL,
    username  TEXT    NOT NULL,
    client    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused', 'locked', 'limited')),
    node      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX login_audit_user ON login_audit (username, at_ms);

ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until_ms BIGINT NOT NULL DEFAULT 0;
