-- Operators' edits of a rundown day (增删改、跳播、插播、撤销): who, when, why, what, and the
-- day versions before and after. Append-only. Times are integer ms since the Unix epoch (UTC).

CREATE TABLE rundown_edits (
    id             BIGSERIAL PRIMARY KEY,
    date           TEXT    NOT NULL,
    base_version   BIGINT  NOT NULL,
    version        BIGINT  NOT NULL,
    author         TEXT    NOT NULL,
    at_ms          BIGINT  NOT NULL,
    reason         TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    op_json        TEXT    NOT NULL
);
CREATE INDEX rundown_edits_date ON rundown_edits (date, id);
