-- Stream keys of the RTMP ingest: one or more per live feed, stored only as their SHA-256
-- (the key itself is shown once, when it is created), revocable. A feed is the name the
-- rundown plays as `ingest://FEED`. Times are integer ms since the Unix epoch (UTC).

CREATE TABLE ingest_keys (
    id            BIGSERIAL PRIMARY KEY,
    feed          TEXT    NOT NULL,
    key_sha256    TEXT    NOT NULL UNIQUE,
    -- The first characters of the key, for people to tell keys apart.
    key_hint      TEXT    NOT NULL,
    note          TEXT    NOT NULL DEFAULT '',
    created_at_ms BIGINT  NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX ingest_keys_feed ON ingest_keys (feed);
